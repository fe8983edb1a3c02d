"""The City's open data: its published 311 files read into the store (imports.py)."""
