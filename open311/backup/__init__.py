"""Backups: the embedded SQLite file copied online (sqlite.py), and a throwaway
PostgreSQL cluster for the point-in-time recovery drill (cluster.py)."""
