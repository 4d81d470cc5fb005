"""Malformed, oversized and out-of-order websocket messages: each gets an error reply or a
close code, nothing changes that should not, and the process keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, provider_url, recv_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12)
ops = st.fixed_dictionaries({"op": st.sampled_from(["set", "attest", "hold", "", "SET"])},
                            optional={"unit_id": st.text(max_size=80), "available": json_values,
                                      "capacity": json_values, "waitlist": json_values,
                                      "ref": json_values, "note": json_values,
                                      "extra": json_values})
messages = st.text(max_size=200) | json_values.map(json.dumps) | ops.map(json.dumps)


async def test_hand_picked_bad_messages_each_get_an_error_and_change_nothing(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=2)
    token = await server.token("provider", org)
    bad = ["", "not json", "[1,2]", "null", "42", '{"op":"set"}', '{"op":"drop","unit_id":"x"}',
           orjson.dumps({"op": "set", "unit_id": unit, "available": "3"}).decode(),
           orjson.dumps({"op": "set", "unit_id": unit, "available": -1}).decode(),
           json.dumps({"op": "set", "unit_id": unit, "available": 10**30}),
           orjson.dumps({"op": "set", "unit_id": unit, "available": 9}).decode(),  # > capacity
           orjson.dumps({"op": "set", "unit_id": "unit-nope", "available": 1}).decode(),
           orjson.dumps({"op": "attest", "unit_id": unit, "evil": True}).decode(),
           orjson.dumps({"op": "set", "unit_id": unit, "available": 1,
                         "note": "x" * 20_000}).decode()]
    async with connect(provider_url(server, token)) as ws:
        for message in bad:
            await ws.send(message)
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["error"], (message[:60], reply)
        await ws.send(b"\xff\xfe binary garbage")
        assert (await recv_json(ws))["type"] == "error"
        await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": 1,
                                    "ref": "ok"}).decode())
        assert (await recv_json(ws)) == {"type": "ack", "ref": "ok", "seq": 2}
    state = (await server.svc.live.units([unit]))[unit]
    assert (state.available, state.seq) == (1, 2)


async def test_a_message_above_the_frame_limit_closes_with_1009_and_the_server_lives_on(
        server: Server) -> None:
    org = await server.org()
    token = await server.token("provider", org)
    async with connect(provider_url(server, token), max_size=None) as ws:
        await ws.send("x" * 200_000)
        try:
            await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError("an oversized frame was answered, not refused")
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1009
    async with server.client() as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_readers_sending_anything_or_resuming_out_of_order_keep_their_stream(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=2)
    reader = await server.token("display")
    for after in ("-1", "abc", "1e3", str(2**64)):
        try:
            async with connect(inventory_url(server, reader) + f"&after={after}") as ws:
                await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError(f"after={after} was accepted")
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
        except InvalidStatus as refused:  # refused before the handshake completes
            assert refused.response.status_code == 403
    async with connect(inventory_url(server, reader, after=10**6)) as ws:  # ahead: snapshot
        assert (await recv_json(ws))["type"] == "snapshot"
        for junk in ("hello", '{"op":"set"}', "x" * 10_000):
            await ws.send(junk)
        async with server.client(await server.token("provider", org)) as client:
            put = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
        message = await recv_json(ws)
        while message["type"] == "heartbeat":
            message = await recv_json(ws)
        assert message["seq"] == put.json()["seq"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(messages, min_size=1, max_size=20))
async def test_random_messages_each_get_exactly_one_reply(server: Server,
                                                          batch: list[str]) -> None:
    org = "org-fuzz"
    with contextlib.suppress(Exception):  # made by an earlier example
        await server.org("Fuzz", org)
        program = await server.program(org, id="prg-fuzz")
        await server.unit(program, capacity=5, available=2, id="unit-fuzz")
    token = await server.token("provider", org)
    async with connect(provider_url(server, token)) as ws:
        for message in batch:
            await ws.send(message)
            reply = await recv_json(ws)
            assert reply["type"] in ("ack", "error"), reply
    state = (await server.svc.live.units(["unit-fuzz"]))["unit-fuzz"]
    assert 0 <= state.available and state.available + state.held <= state.capacity
