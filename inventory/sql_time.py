"""Time arithmetic inside SQL, the same on SQLite and PostgreSQL, so long ranges are
aggregated where the rows are instead of being loaded into Python.

SQLite keeps a time as text ('2026-03-02 00:00:00.000000', UTC, as `records.UTCDateTime`
writes it) and PostgreSQL as `timestamptz`; `epoch_minute(column)` is the whole minute since
1970-01-01 UTC on both, an integer that window functions can subtract.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class epoch_minute(FunctionElement[int]):
    """Whole minutes since the Unix epoch (floored) of a UTC time column."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_minute, "sqlite")
def _sqlite(element: epoch_minute, compiler: Any, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / 60)"


@compiles(epoch_minute, "postgresql")
def _postgresql(element: epoch_minute, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch from {column}) / 60) AS BIGINT)"
