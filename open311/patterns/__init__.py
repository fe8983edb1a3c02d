"""PROTECT: the patterns in complaints that point at a problem to prevent.

Repeat places (one service's requests at one place again and again) and hotspots
(clusters in space and time of one service's requests), recomputed on a schedule
(actions.py) and read by departments (queries.py); businesses cited or complained
about again and again are open311/citations/parties.py's.
"""
