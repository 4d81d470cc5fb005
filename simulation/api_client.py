"""The simulation's only door to Bedfinder: its public REST API over HTTP (httpx), as a
provider, a connector (navigator) or an admin would use it. Every call first moves the
server's simulated clock to the simulation's time, so what the server records is stamped
with simulated time. Counts calls and their latency: the simulation is also a load test."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

TIMEOUT = 30.0


class ApiRefused(RuntimeError):
    """The server answered with an error the simulation did not expect."""


@dataclass
class CallStats:
    """Requests per kind and their wall-clock latency, for the load-test line of the report."""
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, elapsed: float) -> None:
        self.seconds[kind].append(elapsed)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.seconds.values())


@dataclass(frozen=True, slots=True)
class Listing:
    """One program as a search shows it: its single unit and that unit's counts."""
    program_id: str
    unit_id: str
    available: int


class Api:
    """Synchronous on purpose: a SimPy process makes one call at a time, in simulated-time
    order, so the server sees the same sequence of requests for the same seed."""

    def __init__(self, base_url: str, admin_token: str, epoch: datetime) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=TIMEOUT)
        self.admin = admin_token
        self.epoch = epoch
        self.clock_at: float | None = None
        self.stats = CallStats()

    def close(self) -> None:
        self.http.close()

    def when(self, hours: float) -> datetime:
        return self.epoch + timedelta(hours=hours)

    def _call(self, kind: str, method: str, path: str, token: str, ok: tuple[int, ...],
              **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                     **kwargs)
        self.stats.record(kind, time.perf_counter() - started)
        if response.status_code not in ok:
            raise ApiRefused(f"{method} {path} answered {response.status_code}: "
                             f"{response.text[:300]}")
        return response

    def at(self, hours: float) -> None:
        """Move the server's clock to simulated hour `hours` (once per distinct time)."""
        if self.clock_at == hours:
            return
        self._call("clock", "PUT", "/api/v1/simulation/clock", self.admin, (200,),
                   json={"now": self.when(hours).isoformat()})
        self.clock_at = hours

    # Directory and tokens (admin), once per run.
    def organization(self, name: str) -> str:
        return self._call("directory", "POST", "/api/v1/organizations", self.admin, (201, 200),
                          json={"name": name}).json()["id"]

    def program(self, org_id: str, name: str, level: str) -> str:
        return self._call("directory", "POST", "/api/v1/programs", self.admin, (201, 200),
                          json={"organization_id": org_id, "name": name,
                                "level_of_care": level}).json()["id"]

    def unit(self, program_id: str, label: str, capacity: int, available: int) -> str:
        return self._call("directory", "POST", f"/api/v1/programs/{program_id}/units",
                          self.admin, (201, 200),
                          json={"label": label, "capacity": capacity,
                                "available": available}).json()["id"]

    def token(self, role: str, label: str, org_id: str | None = None) -> tuple[str, str]:
        """(plaintext, token id) of a new token."""
        body = self._call("tokens", "POST", "/api/v1/tokens", self.admin, (201, 200),
                          json={"role": role, "label": label,
                                "organization_id": org_id}).json()
        return body["token"], body["id"]

    # Providers.
    def set_available(self, token: str, unit_id: str, available: int) -> None:
        self._call("counts", "PUT", f"/api/v1/units/{unit_id}/availability", token, (200,),
                   json={"available": available})

    # Connectors.
    def search(self, token: str, level: str, available_only: bool) -> list[Listing]:
        body = self._call("search", "GET", "/api/v1/programs", token, (200,), params={
            "level_of_care": level, "available_only": str(available_only).lower(),
            "limit": 2000}).json()
        return [Listing(p["id"], u["id"], u["available"])
                for p in body["programs"] for u in p["units"]]

    def register_transition(self, token: str, client_ref: str, from_program_id: str,
                            discharge_hours: float) -> str:
        return self._call("transitions", "POST", "/api/v1/transitions", token, (201,), json={
            "client_ref": client_ref, "from_program_id": from_program_id,
            "discharge_at": self.when(discharge_hours).isoformat()}).json()["id"]

    def cancel_transition(self, token: str, transition_id: str) -> None:
        self._call("transitions", "POST", f"/api/v1/transitions/{transition_id}/cancel", token,
                   (200, 409))

    def refer(self, token: str, client_ref: str, program_ids: list[str],
              transition_id: str | None) -> dict[str, str]:
        """Referral id per program id."""
        body = self._call("referrals", "POST", "/api/v1/referrals", token, (201,), json={
            "client_ref": client_ref, "program_ids": program_ids,
            "transition_id": transition_id}).json()
        return {r["program_id"]: r["id"] for r in body}

    def accept(self, token: str, referral_id: str, unit_id: str) -> str | None:
        """The hold id, or None when the server refused (the bed went, the referral ended)."""
        response = self._call("referrals", "POST", f"/api/v1/referrals/{referral_id}/accept",
                              token, (200, 409, 404), json={"unit_id": unit_id})
        return response.json()["hold_id"] if response.status_code == 200 else None

    def decline(self, token: str, referral_id: str, reason: str) -> None:
        self._call("referrals", "POST", f"/api/v1/referrals/{referral_id}/decline", token,
                   (200, 409), json={"reason": reason})

    def withdraw(self, token: str, referral_id: str) -> None:
        self._call("referrals", "POST", f"/api/v1/referrals/{referral_id}/withdraw", token,
                   (200, 409))

    def hold(self, token: str, unit_id: str, client_ref: str, transition_id: str | None,
             minutes: int) -> str | None:
        """The hold id, or None when no bed is free (409)."""
        response = self._call("holds", "POST", "/api/v1/holds", token, (201, 409), json={
            "unit_id": unit_id, "client_ref": client_ref, "transition_id": transition_id,
            "minutes": minutes})
        return response.json()["id"] if response.status_code == 201 else None

    def admit(self, token: str, hold_id: str) -> None:
        self._call("holds", "POST", f"/api/v1/holds/{hold_id}/admit", token, (200,))
