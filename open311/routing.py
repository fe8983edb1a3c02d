"""Which database a session's statements go to: the primary, or a read replica.

The choice is made once per request, before its first statement (open311/replicas.py
keeps it on `g`, so that a session opened later in the request, a streamed feed's,
follows it too), and applied here, in the one method every statement passes through:
Session.get_bind. A session may override it for itself (its `info`). Views and
domain functions keep calling `db.session` as before and never name a database.
Routing by statement instead (say, every SELECT to a replica) would send a request's
reads and its own writes to two servers that disagree for as long as the replica lags.

Whatever writes goes to the primary, whatever the request chose: a flush, an INSERT,
UPDATE or DELETE, and the rest of a session once begin_write opened a write
transaction. A credential's lookup reads the primary too (reading_primary): a key
issued or revoked a moment ago must count at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from flask import g, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import Session

READ_FROM: Final = "open311_read_from"  # g and session.info: the replica chosen, or None
_UNSET: Final = object()


class RoutedSession(FlaskSession):
    """Flask-SQLAlchemy's session, reading from the replica its request chose."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: sa.Engine | sa.Connection | None = None,
        **kwargs: Any,
    ) -> sa.Engine | sa.Connection:
        replica = replica_of(self)
        if replica is None or bind is not None or self._flushing or _writes(clause):
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        return replica

    def connection(
        self,
        bind_arguments: Any | None = None,
        execution_options: Any | None = None,
    ) -> sa.Connection:
        """A replica that refuses the connection leaves this request to the primary
        (its engine's handle_error has told the ReplicaSet to skip it): a request
        that connects before its first statement (read_without_a_transaction) would
        otherwise fail where a statement would have been retried."""
        try:
            return super().connection(bind_arguments, execution_options)
        except sa.exc.DBAPIError:
            if replica_of(self) is None:
                raise
            read_from(self, None)
            return super().connection(bind_arguments, execution_options)


def _writes(clause: Any) -> bool:
    return isinstance(clause, sa.UpdateBase)


def read_for_request(replica: sa.Engine | None) -> None:
    """Send the current request's reads to `replica`; None: to the primary."""
    setattr(g, READ_FROM, replica)


def read_from(session: Session, replica: sa.Engine | None) -> None:
    """Send this session's reads to `replica` from now on; None: to the primary."""
    session.info[READ_FROM] = replica


def replica_of(session: Session) -> sa.Engine | None:
    """The replica the session reads from, or None when it reads the primary."""
    replica: sa.Engine | None
    if READ_FROM in session.info:
        replica = session.info[READ_FROM]
    else:
        replica = g.get(READ_FROM) if has_app_context() else None
    return replica


@contextmanager
def reading_primary(session: Session) -> Iterator[None]:
    """Read the primary inside the block: credentials, which must be current."""
    own = session.info.get(READ_FROM, _UNSET)
    read_from(session, None)
    try:
        yield
    finally:
        if own is _UNSET:
            session.info.pop(READ_FROM, None)
        else:
            session.info[READ_FROM] = own
