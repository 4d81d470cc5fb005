"""bench/alerts.py runs end to end: every alert arrives once, by e-mail and by push."""

from __future__ import annotations

from tests.bench.test_smoke import smoke


def test_alert_latency_benchmark_runs_and_every_alert_arrives_once() -> None:
    out = smoke("bench.alerts")
    assert "e-mail (SMTP receipt): 3 rounds" in out and "web push (decrypted): 3 rounds" in out
