"""EDXL-HAVE 2.0 in: bed types map to units; unknown ones are reported; hostile or
malformed XML is refused and changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


async def mapped(server):
    org = await server.org("Bayview General")
    program = await server.program(org, name="Bayview Psychiatric",
                                   level_of_care="psychiatric_inpatient")
    adult = await server.unit(program, capacity=20, available=0, label="Adult")
    youth = await server.unit(program, capacity=8, available=5, label="Youth")
    server.settings.edxl_hospitals = {"HOSP-SFG": {"AdultPsychiatric": adult,
                                                   "PediatricPsychiatric": youth}}
    return org, adult, youth


async def test_sample_applies_counts_and_reports_unmapped_bed_types(server):
    _org, adult, youth = await mapped(server)
    async with server.client(await server.token("admin")) as http:
        response = await http.post("/api/v1/feeds/edxl-have",
                                   content=(FIXTURES / "edxl_have_sample.xml").read_bytes(),
                                   headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["applied"]) == sorted([adult, youth])
    assert body["unmapped"] == [("hospital 'HOSP-SFG' bed type 'AdultICU': bed type not mapped "
                                "to a unit")]
    states = await server.svc.live.units([adult, youth])
    assert (states[adult].available, states[adult].capacity) == (4, 24)
    assert (states[youth].available, states[youth].capacity) == (0, 8)  # NotAvailable
    assert states[adult].source == "edxl"


async def test_billion_laughs_and_external_entities_are_refused_and_change_nothing(server):
    await mapped(server)
    seq = await server.svc.live.current_seq()
    async with server.client(await server.token("admin")) as http:
        for name in ("billion_laughs.xml", "external_entity.xml"):
            response = await http.post("/api/v1/feeds/edxl-have",
                                       content=(FIXTURES / name).read_bytes())
            assert response.status_code == 422
            assert "DTD or entities" in response.json()["detail"]
        malformed = await http.post("/api/v1/feeds/edxl-have", content=b"<Hospital><oops>")
        assert malformed.status_code == 422 and "malformed" in malformed.json()["detail"]
        not_have = await http.post("/api/v1/feeds/edxl-have", content=b"<feed/>")
        assert not_have.status_code == 422 and "Hospital" in not_have.json()["detail"]
    assert await server.svc.live.current_seq() == seq


async def test_available_above_baseline_refuses_the_whole_document(server):
    _org, _adult, youth = await mapped(server)
    xml = (FIXTURES / "edxl_have_sample.xml").read_text().replace(
        "<have:AvailableCount>4</have:AvailableCount>",
        "<have:AvailableCount>40</have:AvailableCount>")
    async with server.client(await server.token("admin")) as http:
        response = await http.post("/api/v1/feeds/edxl-have", content=xml.encode())
    assert response.status_code == 422
    assert "more than BaselineCount 24" in response.json()["problems"][0]
    assert (await server.svc.live.units([youth]))[youth].available == 5


async def test_provider_may_only_feed_its_own_units(server):
    await mapped(server)
    stranger = await server.org("Someone Else")
    async with server.client(await server.token("provider", stranger)) as http:
        response = await http.post("/api/v1/feeds/edxl-have",
                                   content=(FIXTURES / "edxl_have_sample.xml").read_bytes())
    assert response.status_code == 422 and "is not yours" in response.json()["detail"]


@pytest.mark.slow  # starts extra processes
def test_cli_refuses_hostile_xml_without_touching_anything(tmp_path):
    env = {"BEDFINDER_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "from web.cli import app; app()", "import", "edxl",
         str(FIXTURES / "billion_laughs.xml")],
        capture_output=True, text=True, env=env, timeout=60,
        cwd=Path(__file__).resolve().parents[2], check=False)
    assert result.returncode == 2 and "DTD or entities" in result.stdout
    assert not (tmp_path / "bedfinder.db").exists()  # refused before any store was opened
