"""The match endpoint speaks in the level's display name, in the language asked for, and
refuses needs that contradict themselves, naming the field."""

from __future__ import annotations

from tests.conftest import Server


async def add_womens_residential(server: Server) -> None:
    async with server.client(await server.token("admin")) as client:
        await client.post("/api/v1/organizations", json={"id": "o", "name": "O"})
        program = (await client.post("/api/v1/programs", json={
            "organization_id": "o", "name": "Res", "level_of_care": "residential_sud",
            "harm_reduction": True})).json()
        reply = await client.post(f"/api/v1/programs/{program['id']}/units", json={
            "label": "Women's beds", "capacity": 4, "available": 2, "genders": ["female"]})
        assert reply.status_code in (200, 201), reply.text


async def test_reasons_name_the_next_level_as_people_say_it(server: Server) -> None:
    await add_womens_residential(server)
    async with server.client(await server.token("navigator")) as client:
        english = await client.post("/api/v1/match", json={
            "from_level": "withdrawal_management",
            "needs": {"gender": "female", "harm_reduction": True}})
        spanish = await client.post("/api/v1/match", json={
            "from_level": "withdrawal_management", "lang": "es",
            "needs": {"gender": "female", "harm_reduction": True}})
    assert english.status_code == 200, english.text
    [option] = english.json()["options"]
    assert option["reasons"][:2] == ["Residential SUD treatment is the next step",
                                     "2 beds free now"]
    [option] = spanish.json()["options"]
    assert "Tratamiento residencial de adicciones" in option["reasons"][0]


async def test_contradictory_needs_are_refused_naming_the_field(server: Server) -> None:
    async with server.client(await server.token("navigator")) as client:
        bad = await client.post("/api/v1/match",
                                json={"needs": {"involuntary": True, "secure": False}})
    assert bad.status_code == 422 and "secure" in bad.text, bad.text
