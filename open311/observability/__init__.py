"""Watching the server: logs that never hold a key, a token or a signed link."""
