"""Opening hours of programs that are not open around the clock (peer-run drop-in and
wellness centers): whether one is open now, decided from its weekly hours and `now`.

Hours are a JSON object: `timezone` (an IANA name, e.g. "America/Los_Angeles") and, per day
(`mon` ... `sun`), comma-separated local ranges such as "09:00-17:00,18:00-21:00"; a day
left out is closed, and a range may run past midnight ("20:00-02:00"). A program without
hours is treated as always open.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inventory.errors import Invalid

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_hours(hours: dict[str, str]) -> None:
    """Refuse hours that could not be read (Invalid, naming the field)."""
    unknown = sorted(set(hours) - {"timezone", *DAYS})
    if unknown:
        raise Invalid(f"hours: unknown key {unknown[0]!r}; use timezone and "
                      f"{', '.join(DAYS)}")
    if "timezone" not in hours:
        raise Invalid("hours.timezone is required, e.g. America/Los_Angeles")
    try:
        ZoneInfo(hours["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"hours.timezone: unknown time zone {hours['timezone']!r}") from None
    for day in DAYS:
        for part in _ranges(hours.get(day, "")):
            if _parse(part) is None:
                raise Invalid(f"hours.{day}: {part!r} is not a range like 09:00-17:00")


def open_at(hours: dict[str, str] | None, now: datetime) -> bool:
    """Whether a program with these hours is open at `now` (always, without hours)."""
    if not hours:
        return True
    local = now.astimezone(ZoneInfo(hours["timezone"]))
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    for part in _ranges(hours.get(DAYS[today], "")):
        start, end = _parse(part) or (time(0), time(0))
        if start <= local.time() < end or (end <= start and local.time() >= start):
            return True
    for part in _ranges(hours.get(DAYS[yesterday], "")):
        start, end = _parse(part) or (time(0), time(0))
        if end <= start and local.time() < end:  # last night's range past midnight
            return True
    return False


def _ranges(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _parse(part: str) -> tuple[time, time] | None:
    start, _, end = part.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        return None

