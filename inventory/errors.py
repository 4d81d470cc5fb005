"""Domain exceptions; `web/errors.py` maps each to one HTTP status in one place."""

from __future__ import annotations


class InventoryError(Exception):
    """Base: `str(error)` is a sentence a person can act on."""


class NotFound(InventoryError):
    pass


class Invalid(InventoryError):
    """The request is well-formed but breaks a rule (e.g. a negative count)."""


class Conflict(InventoryError):
    """The change would break the availability invariant as things stand now."""


class NoCapacity(Conflict):
    pass


class NotYourUnit(InventoryError):
    """A provider tried to change a unit of another organization."""


class RateLimited(InventoryError):
    """The caller's write budget is spent; nothing was changed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many updates; try again in {retry_after} s")
        self.retry_after = retry_after


class LiveStateUnavailable(InventoryError):
    """Redis is down or being rebuilt: refuse rather than accept what cannot be kept."""


class RecordsUnavailable(InventoryError):
    """The SQL database did not take the write: the change was not acknowledged."""


class UndoFailed(RecordsUnavailable):
    """A flow failed part-way and could not undo its earlier steps either: the message says
    what stays changed, never that nothing was."""


def explain(error: BaseException) -> str:
    """A failure as a sentence fit for the caller: a domain error says itself; anything else
    (a database or driver error, whose text may carry SQL) is named by what failed."""
    if isinstance(error, InventoryError):
        return str(error)
    return f"the database or live store did not answer ({type(error).__name__})"
