"""Access (访问控制与安全): 国密 primitives, the tamper-evident audit trail, identities and roles,
classification and grading, masking. Every read that leaves the platform passes its policy point."""
