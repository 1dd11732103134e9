"""Process-wide state outside the package that a Function reads: one module object, shared by
the original and the migration when both run in one process."""
calls = 0
