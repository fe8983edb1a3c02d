"""The service catalogue: loading it from data files, reading it, checking answers."""
