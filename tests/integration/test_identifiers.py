"""Identifiers are refused everywhere free text or a client reference enters, and counts,
times and short numbers still pass. The patterns live in inventory/privacy.py only."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from inventory.errors import Invalid
from inventory.privacy import check_client_ref, check_note, identifiers_in
from inventory.records import AuditEntry
from tests.conftest import Server
from tests.integration.live_helpers import provider_url, recv_json

FINDING = "John Doe DOB 01/02/1980 SSN 123456789 MRN 55512345"

REFUSED = [
    (FINDING, {"a social security number", "a date of birth", "a medical record number"}),
    ("123-45-6789", {"a social security number"}),
    ("ss# 123 45 6789", {"a social security number"}),
    ("social security on file", {"a social security number"}),
    ("call her at (415) 555-1234", {"a phone number"}),
    ("415-555-1234", {"a phone number"}),
    ("415.555.1234", {"a phone number"}),
    ("+1 415 555 1234", {"a phone number"}),
    ("4155551234", {"a phone number"}),
    ("cell 555-1234", {"a phone number"}),
    ("+44 20 7946 0958", {"a phone number"}),
    ("write to jane.doe+beds@example.org", {"an e-mail address"}),
    ("MRN A1234", {"a medical record number"}),
    ("medical record 7781", {"a medical record number"}),
    ("55512345", {"a medical record number"}),
    ("chart # 12", {"a medical record number"}),
    ("dob unknown", {"a date of birth"}),
    ("d.o.b. on file", {"a date of birth"}),
    ("born on 3/4/85", {"a date of birth"}),
    ("1980-01-02", {"a date of birth"}),
    ("02.01.1980", {"a date of birth"}),
    ("1/2/80", {"a date of birth"}),
    ("Jan 2, 1980", {"a date of birth"}),
    ("2nd of January 1980", {"a date of birth"}),
]

PASSED = [
    "2 discharges at 14:30", "call 415 intake desk", "one discharge this morning",
    "ages 18-64", "back 12/24", "closed 12/24-12/26", "3.7-WM", "ASAM 3.5.10", "room 12B",
    "ext 204", "2 beds open, 1 pending, 3 on waitlist", "opens 8:00-17:00", "unit 3-B",
    "50% capacity", "covid test within 24h", "1/2 the beds", "2026 budget", "newborn unit",
    "counts 1 2 3 4 5 6 7", "hold till 5pm", "csv batch 1234abcd row 3", "simulated",
    "women only, no pets", "intake desk: ask for the charge nurse", "",
]


@pytest.mark.parametrize(("text", "kinds"), REFUSED)
def test_identifying_text_is_refused_naming_what_it_looks_like(text: str, kinds: set[str]
                                                               ) -> None:
    assert set(identifiers_in(text)) == kinds
    with pytest.raises(Invalid) as refused:
        check_note(text)
    for kind in kinds:
        assert kind in str(refused.value)
    assert text not in str(refused.value)  # a refusal never repeats the identifier


@pytest.mark.parametrize("text", PASSED)
def test_counts_times_and_short_numbers_pass(text: str) -> None:
    assert identifiers_in(text) == []
    assert check_note(text) == text


@pytest.mark.parametrize("ref", ["123-45-6789", "123456789", "415-555-1234", "1980-01-02",
                                 "C-01.02.1980", "MRN55512345"])
def test_client_refs_that_look_like_identifiers_are_refused(ref: str) -> None:
    with pytest.raises(Invalid, match="client_ref was refused: it looks like"):
        check_client_ref(ref)


@pytest.mark.parametrize("ref", ["C-1042", "nav7-0042", "CASE-2024-0012", "r-1", "ab:12#3"])
def test_opaque_client_refs_pass(ref: str) -> None:
    assert check_client_ref(ref) == ref


WORDS = st.sampled_from(["beds", "open", "discharge", "discharges", "at", "call", "intake",
                         "desk", "women", "men", "waitlist", "pending", "unit", "room",
                         "ages", "until", "noon", "am", "pm", "ext", "ASAM", "held", "+", "-"])
SHORT_NUMBERS = st.integers(0, 999).map(str)
TIMES = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}")
RANGES = st.tuples(st.integers(0, 120), st.integers(0, 120)).map(lambda t: f"{t[0]}-{t[1]}")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(WORDS, SHORT_NUMBERS, TIMES, RANGES), max_size=12))
def test_notes_of_counts_times_and_words_always_pass(parts: list[str]) -> None:
    note = " ".join(parts)
    assert identifiers_in(note) == [], note


SSNS = st.tuples(st.integers(100, 899), st.integers(10, 99), st.integers(1000, 9999)).map(
    lambda t: f"{t[0]}-{t[1]}-{t[2]}")
PHONES = st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999)).map(
    lambda t: f"({t[0]}) {t[1]}-{t[2]:04d}")
BIRTH_DATES = st.dates().filter(lambda d: 1900 <= d.year <= 2030).flatmap(
    lambda d: st.sampled_from([d.isoformat(), f"{d.month}/{d.day}/{d.year}",
                               f"{d.month:02d}-{d.day:02d}-{d.year}",
                               d.strftime("%b %d, %Y"), d.strftime("%d %B %Y")]))
RECORDS = st.integers(10_000_000, 10**12).map(str)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(WORDS, SHORT_NUMBERS), max_size=5),
       st.one_of(SSNS, PHONES, BIRTH_DATES, RECORDS),
       st.lists(st.one_of(WORDS, SHORT_NUMBERS), max_size=5))
def test_an_identifier_anywhere_in_a_note_is_refused(before: list[str], identifier: str,
                                                     after: list[str]) -> None:
    note = " ".join([*before, identifier, *after])
    assert identifiers_in(note), note


# Through the running app ------------------------------------------------------------


async def audit_count(server: Server) -> int:
    async with server.svc.sessions() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))
                ).scalar_one()


async def test_unit_notes_with_identifiers_are_refused_on_every_entry(server: Server) -> None:
    org = await server.org("Harbor House")
    program = await server.program(org, name="Harbor Detox")
    unit = await server.unit(program, capacity=10, available=2, label="Beds")
    token = await server.token("provider", org)
    before, audited = (await server.svc.live.units([unit]))[unit], await audit_count(server)
    async with server.client(token) as http:
        put = await http.put(f"/api/v1/units/{unit}/availability",
                             json={"available": 5, "note": FINDING})
        attest = await http.post(f"/api/v1/units/{unit}/attest",
                                 json={"note": "client DOB 1980-01-02"})
        census = await http.post("/api/v1/census", files={"file": (
            "census.csv", f"program,unit,available,note\n{program},Beds,4,cell 415-555-1234\n",
            "text/csv")})
    assert put.status_code == 422, put.text
    detail = put.json()["detail"]
    assert "social security number" in detail and "date of birth" in detail
    assert "123456789" not in detail
    assert attest.status_code == 422 and "date of birth" in attest.json()["detail"]
    assert census.status_code == 422, census.text
    assert "phone number" in str(census.json()["rows"])
    async with connect(provider_url(server, token)) as ws:
        await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": 6,
                                    "note": "SSN 123-45-6789", "ref": "a1"}).decode())
        reply = await recv_json(ws)
        assert reply["type"] == "error" and "social security number" in reply["error"]
        await ws.send(orjson.dumps({"op": "attest", "unit_id": unit,
                                    "note": "mrn 55512345", "ref": "a2"}).decode())
        reply = await recv_json(ws)
        assert reply["type"] == "error" and "medical record number" in reply["error"]
    after = (await server.svc.live.units([unit]))[unit]
    assert (after.available, after.seq, after.note) == (before.available, before.seq,
                                                        before.note)
    assert await audit_count(server) == audited


async def test_plain_notes_are_still_accepted_everywhere(server: Server) -> None:
    org = await server.org()
    program = await server.program(org, name="Harbor Detox")
    unit = await server.unit(program, capacity=10, available=2, label="Beds")
    token = await server.token("provider", org)
    async with server.client(token) as http:
        put = await http.put(f"/api/v1/units/{unit}/availability",
                             json={"available": 3, "note": "2 discharges at 14:30"})
        assert put.status_code == 200, put.text
        assert put.json()["note"] == "2 discharges at 14:30"
        census = await http.post("/api/v1/census", files={"file": (
            "census.csv", f"program,unit,available,note\n{program},Beds,4,call 415 intake desk\n",
            "text/csv")})
        assert census.status_code == 200, census.text
    async with connect(provider_url(server, token)) as ws:
        await ws.send(orjson.dumps({"op": "attest", "unit_id": unit,
                                    "note": "ages 18-64, back 12/24", "ref": 1}).decode())
        assert (await recv_json(ws))["type"] == "ack"


async def test_client_refs_and_referral_notes_with_identifiers_are_refused(server: Server
                                                                          ) -> None:
    org = await server.org()
    program = await server.program(org)
    unit = await server.unit(program, capacity=4, available=2)
    nav = await server.token("navigator")
    tomorrow = (server.svc.clock() + timedelta(days=1)).isoformat()
    async with server.client(nav) as http:
        hold = await http.post("/api/v1/holds", json={"unit_id": unit,
                                                      "client_ref": "123-45-6789"})
        transition = await http.post("/api/v1/transitions", json={
            "client_ref": "415-555-1234", "from_program_id": program,
            "discharge_at": tomorrow, "needs": {}})
        referral_ref = await http.post("/api/v1/referrals", json={
            "client_ref": "1980-01-02", "program_ids": [program]})
        referral_note = await http.post("/api/v1/referrals", json={
            "client_ref": "C-1042", "program_ids": [program],
            "note": "reach her at jane@example.org"})
        assert (await http.get("/api/v1/holds")).json() == []
        assert (await http.get("/api/v1/referrals")).json() == []
        assert (await http.get("/api/v1/transitions")).json() == []
    assert hold.status_code == 422 and "social security number" in hold.json()["detail"]
    assert transition.status_code == 422 and "phone number" in transition.json()["detail"]
    assert referral_ref.status_code == 422 and "date of birth" in referral_ref.json()["detail"]
    assert referral_note.status_code == 422
    assert "e-mail address" in referral_note.json()["detail"]
    assert (await server.svc.live.units([unit]))[unit].held == 0
