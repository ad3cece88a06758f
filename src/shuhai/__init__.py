"""数海 Shuhai."""
