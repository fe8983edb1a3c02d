"""Service requests: filing them (actions) and finding them (queries)."""
