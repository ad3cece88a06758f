"""Exchange (共享交换): share applications and approvals, the scoped data-sharing API."""
