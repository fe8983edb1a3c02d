"""Citations (CITE): recorded on requests by staff, listed by party; never public."""
