"""Append-only audit log writes, and reading the last persisted state of every unit."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Subquery, Table, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from inventory.errors import RecordsUnavailable
from inventory.live import ActiveHold, Change
from inventory.model import UnitState
from inventory.records import AuditEntry, Base, Hold, Program, Unit

RETRIES = 3


AuditRow = dict[str, Any]  # one audit_log row's values, inserted by Core (no ORM object)
Row = Base | AuditRow


def entry_for(change: Change, state: UnitState, hold_id: str | None = None) -> AuditRow:
    """The audit row of an applied change, as plain values: building an ORM object per row
    cost more CPU than the rest of a batch's write."""
    return {"seq": state.seq, "unit_id": state.id, "op": change.op, "at": change.at,
            "actor": change.by, "source": change.source, "available": state.available,
            "held": state.held, "waitlist": state.waitlist, "capacity": state.capacity,
            "hold_id": hold_id, "note": change.note or None,
            "detail": {"expected_discharges": state.expected_discharges}}


class AuditWriter:
    """Inserts audit entries (and what they belong to) durably, group-committed: whatever is
    waiting when the writer is free goes in one transaction, and each caller returns once its
    rows are committed. A failed batch is retried caller by caller, so one bad change never
    fails the others.

    One per System, owned by it: `run` is a long-lived task under the process's supervisor,
    and `close` (at shutdown) waits, bounded, for what was already handed in. If `run`
    crashes, the batch it held is refused (its callers get RecordsUnavailable and do not
    acknowledge) and later callers wait for the restarted loop."""

    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions
        self.pending: list[tuple[Sequence[Row], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    async def record(self, rows: Sequence[Row]) -> None:
        """Return once `rows` are committed; raises RecordsUnavailable if they cannot be, so
        the caller does not acknowledge."""
        if self._closed:
            raise RecordsUnavailable("the change could not be recorded: this process is "
                                     "shutting down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((rows, future))
        self._idle.clear()
        self._wake.set()
        await future

    async def run(self) -> None:
        """Write what callers hand in, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    await self._write(batch)
                except BaseException as error:
                    refused = RecordsUnavailable(f"the change could not be recorded: {error}")
                    for _, future in batch:
                        _settle(future, refused)
                    raise
            self._idle.set()

    async def _write(self, batch: list[tuple[Sequence[Row], asyncio.Future[None]]]) -> None:
        try:
            await _commit(self.sessions, [row for rows, _ in batch for row in rows])
        except RecordsUnavailable:
            for rows, future in batch:
                try:
                    await _commit(self.sessions, rows)
                except RecordsUnavailable as error:
                    _settle(future, error)
                else:
                    _settle(future, None)
            return
        for _, future in batch:
            _settle(future, None)

    async def close(self, timeout: float) -> None:
        """Refuse new rows, wait at most `timeout` for those handed in, refuse the rest."""
        self._closed = True
        if self.pending:
            self._wake.set()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                pass
        left, self.pending = self.pending, []
        for _, future in left:
            _settle(future, RecordsUnavailable("the change could not be recorded: this "
                                               "process is shutting down"))


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():  # its caller went away; the rows are committed (or not) all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


AUDIT_TABLE = cast(Table, AuditEntry.__table__)
AUDIT_COLUMNS = tuple(c.key for c in AUDIT_TABLE.columns if c.key != "id")


def _audit_values(row: Row) -> AuditRow:
    if isinstance(row, dict):
        return row
    return {key: getattr(row, key) for key in AUDIT_COLUMNS}


async def _commit(sessions: async_sessionmaker, rows: Sequence[Row]) -> None:
    """One transaction, retried briefly when the database is busy. Audit rows, nearly all of
    what comes here, go in as one Core executemany (an ORM unit of work costs several times
    the CPU per row); other rows (holds) through the session, first, since audit rows may
    name them. (Rows of a rolled-back transaction are transient again, so the retry adds the
    same objects.)"""
    entries = [_audit_values(r) for r in rows if isinstance(r, dict | AuditEntry)]
    others = [r for r in rows if not isinstance(r, dict | AuditEntry)]
    for attempt in range(RETRIES):
        try:
            async with sessions() as session, session.begin():
                if others:
                    session.add_all(others)
                    await session.flush()
                if entries:
                    await _insert_audit(session, entries)
            return
        except (OperationalError, DBAPIError, OSError, ConnectionError) as error:
            if attempt == RETRIES - 1:
                raise RecordsUnavailable(f"the change could not be recorded: {error}") from error
            await asyncio.sleep(0.05 * 2**attempt)


async def _insert_audit(session: AsyncSession, entries: list[AuditRow]) -> None:
    """One executemany. On SQLite, straight through the driver with the statement compiled
    once and each value through its column's own bind processor (the stored values are
    exactly the Core insert's): SQLAlchemy's per-row parameter processing was a tenth of a
    batch's CPU there. PostgreSQL already gets one multi-row INSERT from the Core insert."""
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        await connection.execute(insert(AUDIT_TABLE), entries)
        return
    statement = _driver_insert(dialect)
    await connection.exec_driver_sql(statement.sql, statement.rows(entries))


@dataclass(frozen=True)
class DriverInsert:
    """The audit table's INSERT as the driver takes it, for one dialect."""

    sql: str
    columns: tuple[str, ...]  # in the statement's parameter order
    processors: tuple[Callable[[Any], Any] | None, ...]

    def rows(self, entries: Sequence[AuditRow]) -> list[tuple[Any, ...]]:
        columns, processors = self.columns, self.processors
        return [tuple(value if process is None else process(value)
                      for value, process in zip(map(entry.__getitem__, columns), processors))
                for entry in entries]


@functools.cache
def _driver_insert(dialect: Dialect) -> DriverInsert:
    compiled = insert(AUDIT_TABLE).compile(dialect=dialect, column_keys=list(AUDIT_COLUMNS))
    columns = tuple(compiled.positiontup or ())
    if sorted(columns) != sorted(AUDIT_COLUMNS):
        raise RuntimeError(f"audit insert parameters {columns} are not its columns")
    processors = tuple(AUDIT_TABLE.c[key].type.dialect_impl(dialect).bind_processor(dialect)
                       for key in columns)
    return DriverInsert(str(compiled), columns, processors)


# Ops that confirm a unit's counts, and so restart its freshness clock. Hold ops and
# `stale` change counts or flags but not when the provider last spoke.
FRESHENING = ("create", "set", "attest", "capacity")


async def persisted_states(sessions: async_sessionmaker, unit_ids: Sequence[str] | None = None
                           ) -> tuple[list[UnitState], int]:
    """Every unit's last recorded state (or only those of `unit_ids`), and the highest
    recorded seq. Counts come from the unit's latest row; updated_at/by, source, note and
    expected discharges from its latest provider update."""
    def last_seq(*where: Any) -> Subquery:
        if unit_ids is not None:
            where = (*where, AuditEntry.unit_id.in_(unit_ids))
        return (select(AuditEntry.unit_id, func.max(AuditEntry.seq).label("seq"))
                .where(*where).group_by(AuditEntry.unit_id).subquery())

    latest, spoke = last_seq(), last_seq(AuditEntry.op.in_(FRESHENING))
    last, said = aliased(AuditEntry), aliased(AuditEntry)
    query = (
        select(Unit, Program.organization_id, last, said)
        .join(Program, Program.id == Unit.program_id)
        .outerjoin(latest, latest.c.unit_id == Unit.id)
        .outerjoin(last, last.seq == latest.c.seq)
        .outerjoin(spoke, spoke.c.unit_id == Unit.id)
        .outerjoin(said, said.seq == spoke.c.seq)
    )
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    async with sessions() as session:
        rows = (await session.execute(query)).all()
        max_seq = (await session.execute(select(func.max(AuditEntry.seq)))).scalar() or 0
    return [_state(unit, org_id, entry, update) for unit, org_id, entry, update in rows], max_seq


def _state(unit: Unit, org_id: str, entry: AuditEntry | None, update: AuditEntry | None
           ) -> UnitState:
    return UnitState(
        id=unit.id, program_id=unit.program_id, organization_id=org_id,
        available=entry.available if entry else 0,
        held=entry.held if entry else 0,
        waitlist=entry.waitlist if entry else 0,
        capacity=entry.capacity if entry else unit.capacity,
        seq=entry.seq if entry else 0,
        updated_at=update.at if update else None,
        updated_by=update.actor if update else "",
        source=update.source if update else "",
        note=(update.note or "") if update else "",
        expected_discharges=(update.detail or {}).get("expected_discharges", [])
        if update else [],
    )


async def active_holds(sessions: async_sessionmaker, unit_ids: Sequence[str] | None = None
                       ) -> list[ActiveHold]:
    """Every active hold (or only those on `unit_ids`)."""
    query = select(Hold).where(Hold.status == "active")
    if unit_ids is not None:
        query = query.where(Hold.unit_id.in_(unit_ids))
    async with sessions() as session:
        rows = (await session.execute(query)).scalars()
        return [ActiveHold(h.id, h.unit_id, h.expires_at) for h in rows]
