"""The audit log (SPEC §9.2)."""
