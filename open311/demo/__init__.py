"""The demo city: Chicago's 311 catalogue and a day of its real requests.

`derive.py` rebuilds the catalogue files and the run-time data from the
shared City of Chicago 311 extract; `load.py` puts the requests in a database.
"""
