"""The policies compared on the same arrivals: what providers and connectors do differently,
as flags the model reads (simulation/model.py), nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    """`live_counts`: providers send every change at once (else once a day, around the
    scenario's update hour). `referrals`: connectors refer to up to three programs through
    Bedfinder, and the first to accept holds the bed (else they phone programs one by one).
    `holds`: a bed promised is kept until the person arrives (else first come, first served
    at the door). `alerts`: the transition watch tells the connector when a bed opens (else
    they look again on their own schedule)."""
    name: str
    live_counts: bool
    referrals: bool
    holds: bool
    alerts: bool
    description: str

    @property
    def registers_transitions(self) -> bool:
        """Only the Bedfinder-backed policies register transitions on the server."""
        return self.live_counts


DAILY = Policy("daily", live_counts=False, referrals=False, holds=False, alerts=False,
               description="counts once a day, connectors phone around, no holds, first come")
LIVE = Policy("live", live_counts=True, referrals=True, holds=True, alerts=True,
              description="live counts, up to three referrals, holds, transition alerts")
LIVE_NO_HOLDS = Policy("live-no-holds", live_counts=True, referrals=False, holds=False,
                       alerts=True, description="live counts and alerts; phone, no holds")
LIVE_NO_ALERTS = Policy("live-no-alerts", live_counts=True, referrals=True, holds=True,
                        alerts=False, description="live, but connectors recheck on schedule")

POLICIES: dict[str, Policy] = {p.name: p for p in (DAILY, LIVE, LIVE_NO_HOLDS, LIVE_NO_ALERTS)}


def chosen(names: list[str] | None) -> list[Policy]:
    """The named policies in the order given (all four when none are named)."""
    if not names:
        return list(POLICIES.values())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policy {', '.join(unknown)}; choose from "
                         f"{', '.join(POLICIES)}")
    return [POLICIES[n] for n in names]
