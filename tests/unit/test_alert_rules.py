"""Alert texts are generated from the kind, the opaque reference and a link: nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory import alerts
from inventory.errors import Invalid
from inventory.privacy import identifiers_in


@pytest.mark.parametrize("kind", sorted(alerts.ALERTING))
def test_every_alert_names_the_reference_and_links_to_the_transition(kind: str) -> None:
    said = alerts.message(kind, "C-1042", alerts.link("https://bf.example.org/", "tr-1"))
    assert "C-1042" in said.title and "C-1042" in said.body
    assert said.url == "https://bf.example.org/?transition=tr-1"
    assert said.url in said.text()


def test_only_at_risk_and_lapsed_escalate() -> None:
    assert alerts.ESCALATING == {"at_risk", "lapsed"}
    said = alerts.message("lapsed", "C-7", "https://x/?transition=t", escalated_after=30)
    assert said.title.startswith("Escalation") and "30 minutes" in said.body


def test_a_kind_that_does_not_alert_has_no_text() -> None:
    assert not alerts.alerts_on("note")
    with pytest.raises(ValueError, match="note"):
        alerts.message("note", "C-1", "https://x/")


def test_a_purged_reference_is_said_as_removed() -> None:
    assert alerts.NO_REFERENCE in alerts.message("at_risk", None, "https://x/").body


@given(st.sampled_from(sorted(alerts.ALERTING)), st.booleans())
def test_generated_texts_hold_no_identifier(kind: str, escalated: bool) -> None:
    said = alerts.message(kind, "C-1042", "https://bf.example.org/?transition=tr-9",
                          30 if escalated else None)
    assert not identifiers_in(f"{said.title} {said.body}")


def test_escalation_cutoff_is_the_configured_time_before_now() -> None:
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert alerts.escalation_cutoff(now, 30) == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)


def test_push_endpoints_are_known_push_services_over_https() -> None:
    hosts = ["fcm.googleapis.com", "push.apple.com", "127.0.0.1"]
    assert alerts.check_push_endpoint("https://fcm.googleapis.com/fcm/send/x", hosts)
    assert alerts.check_push_endpoint("https://web.push.apple.com/Q", hosts)
    assert alerts.check_push_endpoint("http://127.0.0.1:8123/push/a", hosts)
    for bad, says in (("http://fcm.googleapis.com/x", "https"),
                      ("https://evilfcm.googleapis.com.example.org/x", "not one of"),
                      ("https://169.254.169.254/latest", "not one of"),
                      ("file:///etc/passwd", "not one of")):
        with pytest.raises(Invalid, match=says):
            alerts.check_push_endpoint(bad, hosts)
