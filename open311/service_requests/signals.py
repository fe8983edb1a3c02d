"""Events other parts of the server may listen to (blinker signals, as Flask's own).

A view sends `request_filed` once the filing is committed, with the interface that
took it as the sender ("georeport", "staff"): sent from the domain's action it would
count filings that were then rolled back.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

request_filed = _signals.signal("service-request-filed")
