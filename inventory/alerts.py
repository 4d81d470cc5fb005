"""Alerts: which timeline events alert whom, what an alert says, and when one escalates.

Pure rules, no I/O. An alert's text is generated here from its kind, the transition's opaque
reference and a link; nothing from the event's details (note text, reasons, program names) is
ever copied into it, so no alert, push payload or e-mail can carry a client identifier that
slipped into free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from inventory.actors import SUPERVISOR
from inventory.errors import Invalid

AT_RISK, LAPSED, BED_MATCH = "at_risk", "lapsed", "bed_match"
REFERRAL_ACCEPTED, REFERRAL_DECLINED = "referral_accepted", "referral_declined"
# Timeline kinds (inventory/timeline.py) that alert the transition's lead and care team.
ALERTING = frozenset({AT_RISK, LAPSED, BED_MATCH, REFERRAL_ACCEPTED, REFERRAL_DECLINED})
# Unacknowledged for `escalate_after_minutes`, these go to every supervisor.
ESCALATING = frozenset({AT_RISK, LAPSED})
# The recipient of an escalation: every supervisor (one acknowledgement answers for all).
SUPERVISORS = f"role:{SUPERVISOR}"
CHANNELS = ("live", "push", "email")
NO_REFERENCE = "(reference removed)"

_SAYS = {
    AT_RISK: "at risk: no accepted referral or hold yet, and the ready-by time is near",
    LAPSED: "lapsed: the ready-by time passed without a landing",
    BED_MATCH: "a bed matching the needs has opened",
    REFERRAL_ACCEPTED: "a referral was accepted",
    REFERRAL_DECLINED: "a referral was declined",
}


@dataclass(frozen=True, slots=True)
class Message:
    """What a person is told: a title, one sentence and the link, in every channel alike."""

    title: str
    body: str
    url: str

    def text(self) -> str:
        """The e-mail body: the sentence, then the link on its own line."""
        return f"{self.body}\n\n{self.url}\n"


def alerts_on(kind: str) -> bool:
    return kind in ALERTING


def escalates(kind: str) -> bool:
    return kind in ESCALATING


def link(base_url: str, transition_id: str) -> str:
    """Where the alert leads: the connector's page opened on the transition."""
    return f"{base_url.rstrip('/')}/?transition={quote(transition_id, safe='')}"


def message(kind: str, reference: str | None, url: str, escalated_after: int | None = None,
            unled: bool = False) -> Message:
    """The alert for a timeline event of `kind` on the transition with opaque `reference`;
    to supervisors, `escalated_after` (minutes) when nobody acknowledged it in time, or
    `unled` when nobody leads the transition."""
    if kind not in _SAYS:
        raise ValueError(f"no alert for timeline kind {kind!r}")
    ref = reference or NO_REFERENCE
    says = _SAYS[kind]
    if unled:
        return Message(title=f"Escalation: {ref}",
                       body=f"Transition {ref}: {says}. No connector has claimed it.", url=url)
    if escalated_after is not None:
        return Message(title=f"Escalation: {ref}",
                       body=f"Transition {ref}: {says}. Nobody acknowledged it within "
                            f"{escalated_after} minutes.", url=url)
    return Message(title=f"Bedfinder: {ref}", body=f"Transition {ref}: {says}.", url=url)


def escalation_cutoff(now: datetime, escalate_after_minutes: float) -> datetime:
    """Alerts created at or before this time, still unacknowledged, escalate now."""
    return now - timedelta(minutes=escalate_after_minutes)


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_push_endpoint(endpoint: str, push_hosts: list[str]) -> str:
    """A browser's push endpoint is a URL the server will POST to: only the push services
    configured (`alerts.push_hosts`, each a host or a domain it ends with), over HTTPS
    (plain HTTP on the loopback only), so a subscription cannot aim the server at anything
    else on its network. Raises Invalid saying what is wrong."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if not any(host == h or host.endswith(f".{h}") for h in push_hosts):
        raise Invalid(f"push endpoint host {host or '(none)'!r} is not one of the push "
                      f"services this deployment sends to ({', '.join(push_hosts)})")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
        raise Invalid(f"push endpoint must use https, got {parts.scheme or '(none)'!r}")
    return endpoint
