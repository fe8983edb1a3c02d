"""The supervisor's dashboard: a department's figures (or the city's), counted in SQL.

Every figure is one or two aggregate queries that return a few rows on
SQLite/SpatiaLite and PostGIS alike; Python only arranges them. The rules are
the ones the rest of the workflow uses: "open" is an accepted request at an
open stage (transitions.OPEN_STAGES), "overdue" is past `due_at`, the
catalogue's target time the queue sorts by, and "closed at" is what the
estimates learn from (estimates.history.closed_at_of_request). Weeks start on
Monday at midnight in the jurisdiction's time zone. `department` None means
every department (administrators).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.database import allow_a_long_read
from open311.errors import Forbidden, InvalidRequest
from open311.estimates import median_interval
from open311.estimates.history import closed_at_of_request
from open311.estimates.median_interval import MedianInterval
from open311.models import (
    Area,
    CloseReason,
    Intake,
    Role,
    Service,
    ServiceRequest,
    Staff,
    Stage,
    Status,
)
from open311.models.base import UTCDateTime
from open311.opendata.feeds import spreadsheet_text
from open311.workflow import permissions
from open311.workflow.permissions import Operation
from open311.workflow.transitions import OPEN_STAGES

# The stages in the order work moves through them (the charts' and tables' order).
STAGE_ORDER: Final = tuple(stage for stage in Stage if stage in OPEN_STAGES)


@dataclass(frozen=True)
class AgeBand:
    """Open for at least `from_days` and less than `to_days` (None: no upper end)."""

    key: str
    from_days: int
    to_days: int | None


AGE_BANDS: Final = (
    AgeBand("0-2", 0, 2),
    AgeBand("2-7", 2, 7),
    AgeBand("7-30", 7, 30),
    AgeBand("30-90", 30, 90),
    AgeBand("90+", 90, None),
)
AREA_KINDS: Final = ("community_area", "ward")
DEFAULT_WEEKS: Final = 12
MAX_WEEKS: Final = 104
DEFAULT_DAYS: Final = 90  # the medians read requests closed in the last this many days
MAX_DAYS: Final = 3 * 366


@dataclass(frozen=True)
class StageAges:
    stage: Stage
    by_band: tuple[int, ...]  # one count per AGE_BANDS

    @property
    def total(self) -> int:
        return sum(self.by_band)


@dataclass(frozen=True)
class OpenByStage:
    department: str | None
    as_of: datetime
    stages: tuple[StageAges, ...]  # every open stage, in STAGE_ORDER

    @property
    def bands(self) -> tuple[AgeBand, ...]:
        return AGE_BANDS

    @property
    def total(self) -> int:
        return sum(row.total for row in self.stages)


@dataclass(frozen=True)
class ServiceOverdue:
    service_code: str
    service_name: str
    open: int  # accepted requests at an open stage
    overdue: int  # of those, past their due time


@dataclass(frozen=True)
class OverdueByService:
    department: str | None
    as_of: datetime
    services: tuple[ServiceOverdue, ...]  # the most overdue first


@dataclass(frozen=True)
class Week:
    starts_on: date  # a Monday, in the jurisdiction's calendar
    filed: int
    closed: int


@dataclass(frozen=True)
class WeeklyFlow:
    department: str | None
    as_of: datetime
    time_zone: str
    weeks: tuple[Week, ...]  # oldest first; the last is the week under way


@dataclass(frozen=True)
class AreaDays:
    code: str
    name: str
    days: MedianInterval
    compared: str  # slower, faster or similar than the city median; too_few


@dataclass(frozen=True)
class DaysToClose:
    department: str | None
    as_of: datetime
    area_kind: str
    window_days: int
    confidence: float
    city: MedianInterval  # every request of the figure, in an area or not
    areas: tuple[AreaDays, ...]  # by code, numerically where codes are numbers


def _accepted(department: str | None) -> list[sa.ColumnElement[bool]]:
    where = [ServiceRequest.intake == Intake.ACCEPTED]
    if department is not None:
        where.append(ServiceRequest.agency_responsible == department)
    return where


def _open(department: str | None) -> list[sa.ColumnElement[bool]]:
    return [*_accepted(department), ServiceRequest.stage.in_(sorted(OPEN_STAGES))]


def _bucket(column: Any, starts: Sequence[datetime]) -> sa.Case[Any]:
    """The index of the last of the ascending `starts` that `column` is at or after."""
    whens = [(column >= start, index) for index, start in reversed(list(enumerate(starts)))]
    return sa.case(*whens, else_=-1)


def open_by_stage(session: Session, department: str | None, now: datetime) -> OpenByStage:
    """Open requests by stage and by how long they have been open."""
    _as_report(session)
    # The first band whose upper edge the request's age is under; the last has none.
    band = sa.case(
        *(
            (ServiceRequest.requested_at > now - timedelta(days=b.to_days), index)
            for index, b in enumerate(AGE_BANDS)
            if b.to_days is not None
        ),
        else_=len(AGE_BANDS) - 1,
    )
    stmt = (
        sa.select(ServiceRequest.stage, band.label("band"), sa.func.count())
        .where(*_open(department))
        .group_by(ServiceRequest.stage, "band")
    )
    counts: dict[tuple[Stage, int], int] = {}
    for stage, index, count in session.execute(stmt):
        counts[(Stage(stage), int(index))] = count
    stages = tuple(
        StageAges(stage, tuple(counts.get((stage, i), 0) for i in range(len(AGE_BANDS))))
        for stage in STAGE_ORDER
    )
    return OpenByStage(department, now, stages)


def overdue_by_service(session: Session, department: str | None, now: datetime) -> OverdueByService:
    """Each service with open requests: how many, and how many are past their due time."""
    _as_report(session)
    overdue = sa.func.sum(sa.case((ServiceRequest.due_at < now, 1), else_=0))
    stmt = (
        sa.select(ServiceRequest.service_code, Service.name, sa.func.count(), overdue)
        .join(Service, Service.code == ServiceRequest.service_code)
        .where(*_open(department))
        .group_by(ServiceRequest.service_code, Service.name)
    )
    rows = [
        ServiceOverdue(code, name, count, int(late or 0))
        for code, name, count, late in session.execute(stmt)
    ]
    rows.sort(key=lambda r: (-r.overdue, -r.open, r.service_code))
    return OverdueByService(department, now, tuple(rows))


def week_starts(now: datetime, weeks: int, time_zone: ZoneInfo) -> list[datetime]:
    """The local Mondays at midnight that start the last `weeks` weeks (the current one
    last), as aware datetimes: a week across a change of clocks is 167 or 169 hours."""
    today = now.astimezone(time_zone).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [datetime.combine(day, time(0), tzinfo=time_zone) for day in days]


def weekly_flow(
    session: Session,
    department: str | None,
    now: datetime,
    time_zone: ZoneInfo,
    weeks: int = DEFAULT_WEEKS,
    *,
    service_code: str | None = None,
    community_area: str | None = None,
) -> WeeklyFlow:
    """Requests filed and requests closed in each of the last `weeks` local weeks;
    of one service and one community area if given (the public patterns page)."""
    starts = week_starts(now, weeks, time_zone)
    _as_report(session)
    where = _accepted(department)
    if service_code is not None:
        where.append(ServiceRequest.service_code == service_code)
    if community_area is not None:
        where.append(ServiceRequest.community_area == community_area)
    filed_week = _bucket(ServiceRequest.requested_at, starts)
    filed = (
        sa.select(filed_week.label("week"), sa.func.count())
        .where(*where, ServiceRequest.requested_at >= starts[0])
        .group_by("week")
    )
    closings = _materialized(
        sa.select(_closed_at().label("closed_at")).where(
            *where,
            ServiceRequest.status == Status.CLOSED,
            # Closing moves updated_at: this bound lets an index skip the older rows.
            ServiceRequest.updated_at >= starts[0],
        ),
        "closings",
    )
    closed_week = _bucket(closings.c.closed_at, starts)
    closed = (
        sa.select(closed_week.label("week"), sa.func.count())
        .where(closings.c.closed_at >= starts[0])
        .group_by("week")
    )
    filed_counts: dict[int, int] = dict(session.execute(filed).all())
    closed_counts: dict[int, int] = dict(session.execute(closed).all())
    rows = tuple(
        Week(start.date(), filed_counts.get(i, 0), closed_counts.get(i, 0))
        for i, start in enumerate(starts)
    )
    return WeeklyFlow(department, now, time_zone.key, rows)


def _as_report(session: Session) -> None:
    """The rest of this transaction reads as a report: its statements may take seconds
    (allow_a_long_read), and without JIT compilation on PostgreSQL: the correlated
    subquery of closed_at inflates these queries' estimated cost past jit_above_cost, and
    compiling then takes longer than running them."""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_REPORT) is transaction:
        return  # the dashboard's figures share a transaction: once is enough
    allow_a_long_read(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL jit = off"))
    session.info[_REPORT] = session.get_transaction()


_REPORT = "open311.dashboard.report"  # session.info: the transaction made a report


def _closed_at() -> sa.ColumnElement[datetime]:
    return sa.type_coerce(closed_at_of_request(), UTCDateTime())


def _materialized(stmt: sa.Select[Any], name: str) -> sa.CTE:
    """A CTE PostgreSQL computes once: inlined, each use of closed_at (a correlated
    subquery) in CASE branches and filters would be a subplan of its own, enough of
    them for the planner to JIT-compile the query for longer than it runs."""
    return stmt.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")


def _days_open(dialect: str, closed_at: Any, requested_at: Any) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.extract("epoch", closed_at - requested_at) / 86400.0
    return sa.func.julianday(closed_at) - sa.func.julianday(requested_at)


def days_to_close(
    session: Session,
    department: str | None,
    now: datetime,
    area_kind: str,
    days: int = DEFAULT_DAYS,
    confidence: float = median_interval.CONFIDENCE,
) -> DaysToClose:
    """The median days from filing to closing of requests closed in the last `days`,
    in each area of `area_kind` and over all of them, each with its interval
    (estimates.median_interval). Requests closed as duplicates are left out: they
    close with their parent, whatever their own wait was.

    Two queries for each: the count of each area, then the durations at the few
    ranks the interval needs, picked by row_number() in the database.
    """
    if area_kind not in AREA_KINDS:
        raise ValueError(f"area_kind: one of {', '.join(AREA_KINDS)}")
    start = now - timedelta(days=days)
    dialect = session.get_bind().dialect.name
    area = getattr(ServiceRequest, area_kind)
    durations = _materialized(
        sa.select(
            area.label("area"),
            ServiceRequest.requested_at.label("requested_at"),
            _closed_at().label("closed_at"),
            ServiceRequest.id.label("id"),
        ).where(
            *_accepted(department),
            ServiceRequest.status == Status.CLOSED,
            ServiceRequest.updated_at >= start,
            sa.or_(
                ServiceRequest.close_reason.is_(None),
                ServiceRequest.close_reason != CloseReason.DUPLICATE,
            ),
        ),
        "durations",
    )
    closed = (
        sa.select(
            durations.c.area,
            _days_open(dialect, durations.c.closed_at, durations.c.requested_at).label("days"),
            durations.c.id,
        )
        .where(durations.c.closed_at >= start, durations.c.closed_at <= now)
        .subquery("closed")
    )
    _as_report(session)
    by_area = _medians(session, closed, confidence, by_area=True)
    city = _medians(session, closed, confidence, by_area=False).get(None)
    city = city or MedianInterval(0, None, None, None)
    names = dict(
        session.execute(sa.select(Area.code, Area.name).where(Area.kind == area_kind)).all()
    )
    areas = tuple(
        AreaDays(
            code, names.get(code, code), found, median_interval.compared_with(found, city.median)
        )
        for code, found in sorted(by_area.items(), key=lambda item: _code_order(item[0]))
    )
    return DaysToClose(department, now, area_kind, days, confidence, city, areas)


def _code_order(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (1 << 30, code)


def _medians(
    session: Session, closed: sa.Subquery, confidence: float, *, by_area: bool
) -> dict[Any, MedianInterval]:
    """Each area's MedianInterval (or all requests' under the key None), in one query:
    each group's count and ranks by window functions, and of its rows only those at the
    median's ranks or in the band that holds the interval's (median_interval.returned);
    a group's rows all when it is small, so that a group of one still has its count."""
    group: list[sa.ColumnElement[Any]] = [closed.c.area] if by_area else []
    key = closed.c.area if by_area else sa.null()
    partition = group or None
    ranked = sa.select(
        key.label("area"),
        closed.c.days,
        sa.func.row_number()
        .over(partition_by=partition, order_by=(closed.c.days, closed.c.id))
        .label("rank"),
        sa.func.count().over(partition_by=partition).label("n"),
    ).subquery("ranked")
    n, rank = ranked.c.n, ranked.c.rank
    gap = (n + 1 - 2 * rank) * (n + 1 - 2 * rank)
    low, high = median_interval.BAND
    stmt = sa.select(ranked.c.area, n, rank, ranked.c.days).where(
        sa.or_(
            rank == (n + 1) // 2,
            rank == n // 2 + 1,
            n <= median_interval.WHOLE_UP_TO,
            gap.between(low * n, high * n),
        ),
    )
    counts: dict[Any, int] = {} if by_area else {None: 0}
    values: dict[Any, dict[int, float]] = {None: {}}
    for code, size, position, days in session.execute(stmt):
        counts[code] = int(size)
        values.setdefault(code, {})[int(position)] = max(0.0, float(days))
    return {  # by area, requests outside every area count for the city only
        code: median_interval.from_ranked(n, values.get(code, {}), confidence=confidence)
        for code, n in counts.items()
        if code is not None or not by_area
    }


# --- who sees what, and each figure as a table (the staff API's CSV, the console's tables) --

FIGURES: Final = (
    "open-by-stage",
    "overdue-by-service",
    "weekly",
    "days-to-close-by-community-area",
    "days-to-close-by-ward",
)
Figure = OpenByStage | OverdueByService | WeeklyFlow | DaysToClose


def scope_for(staff: Staff, asked: str | None, known: set[str]) -> str | None:
    """The department whose figures `staff` reads: the one asked for, which their VIEW
    permission must reach; unasked, the whole city (None) for roles that may view any
    department's requests, their own department for the others."""
    if asked is not None:
        if asked not in known:
            raise InvalidRequest(f"department: no department is called {asked!r}.")
        permissions.require(staff, Operation.VIEW, asked)
        return asked
    permissions.require(staff, Operation.VIEW, staff.department)
    if permissions.ALLOWED[staff.role].get(Operation.VIEW) is permissions.Scope.ANY:
        return None
    return staff.department


def compute(
    session: Session,
    name: str,
    department: str | None,
    now: datetime,
    time_zone: ZoneInfo,
    *,
    weeks: int = DEFAULT_WEEKS,
    days: int = DEFAULT_DAYS,
) -> Figure:
    """The figure called `name` (one of FIGURES)."""
    if name == "open-by-stage":
        return open_by_stage(session, department, now)
    if name == "overdue-by-service":
        return overdue_by_service(session, department, now)
    if name == "weekly":
        return weekly_flow(session, department, now, time_zone, weeks)
    if name == "days-to-close-by-community-area":
        return days_to_close(session, department, now, "community_area", days)
    if name == "days-to-close-by-ward":
        return days_to_close(session, department, now, "ward", days)
    raise ValueError(f"no figure {name!r}")


@dataclass(frozen=True)
class Table:
    """A figure's numbers as rows under a header: what its CSV holds, cell for cell."""

    header: tuple[str, ...]
    rows: tuple[tuple[str | int | float | None, ...], ...]


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def table(figure: Figure) -> Table:
    if isinstance(figure, OpenByStage):
        return Table(
            ("stage", *(f"open {band.key} days" for band in AGE_BANDS), "total"),
            tuple((row.stage.value, *row.by_band, row.total) for row in figure.stages),
        )
    if isinstance(figure, OverdueByService):
        return Table(
            ("service_code", "service_name", "open", "overdue"),
            tuple((s.service_code, s.service_name, s.open, s.overdue) for s in figure.services),
        )
    if isinstance(figure, WeeklyFlow):
        return Table(
            ("week_of", "filed", "closed"),
            tuple((w.starts_on.isoformat(), w.filed, w.closed) for w in figure.weeks),
        )
    city = figure.city
    return Table(
        (figure.area_kind, "name", "requests", "median_days", "low_days", "high_days", "compared"),
        (
            ("city", "All areas", city.requests, _days(city.median), _days(city.low),
             _days(city.high), ""),
            *(
                (a.code, a.name, a.days.requests, _days(a.days.median), _days(a.days.low),
                 _days(a.days.high), a.compared)
                for a in figure.areas
            ),
        ),
    )  # fmt: skip


def to_csv(found: Table) -> str:
    """The table as CSV; text a spreadsheet would run as a formula is made text, as the
    open-data feeds do (opendata.feeds.spreadsheet_text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(found.header)
    for row in found.rows:
        writer.writerow(spreadsheet_text(cell) if isinstance(cell, str) else cell for cell in row)
    return out.getvalue()


# Who reads the dashboard in the console: the people who run a department's work and
# the city's. (The staff API answers any role that may view, for scripts and reports.)
READERS: Final = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def may_read(staff: Staff) -> bool:
    return staff.role in READERS


def require_reader(staff: Staff) -> None:
    if not may_read(staff):
        raise Forbidden(f"A {staff.role.value} may not read the dashboard.")
