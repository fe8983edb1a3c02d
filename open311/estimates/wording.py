"""The expected time of a request in words, from its calibrated 10th-90th percentile
range: one wording for every interface that tells a resident (the site's pages, texts).

The caller passes its own gettext and ngettext, as each interface picks the language
its own way (a page's locale, a conversation's language).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

DAY_SECONDS = 86400

Gettext = Callable[..., str]


def expected_words(
    requested_at: datetime,
    early: datetime | None,
    late: datetime | None,
    _: Gettext,
    ngettext: Gettext,
) -> str | None:
    """The range in whole days, in words; None without one."""
    if early is None or late is None:
        return None
    low = max(0, round((early - requested_at).total_seconds() / DAY_SECONDS))
    high = max(low, round((late - requested_at).total_seconds() / DAY_SECONDS))
    if high < 1:
        return _("Most requests like this are done within a day.")
    if low < 1:
        return ngettext(
            "Most requests like this are done within %(num)d day.",
            "Most requests like this are done within %(num)d days.",
            high,
        )
    if low == high:
        return ngettext(
            "Most requests like this are done in about %(num)d day.",
            "Most requests like this are done in about %(num)d days.",
            high,
        )
    return _("Most requests like this are done in %(low)d to %(high)d days.", low=low, high=high)
