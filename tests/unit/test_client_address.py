"""Which address a request is counted under: the TCP peer, or behind trusted proxies the
right-most forwarded hop that is not one of them (web/rate_limits.client_address)."""

from __future__ import annotations

from typing import Any

from web.rate_limits import OpenSockets, client_address, networks, token_key

PROXIES = networks(["10.0.0.0/8", "192.0.2.1"])


def scope(peer: str, *forwarded: str) -> dict[str, Any]:
    return {"client": (peer, 5000),
            "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(scope("198.51.100.1", "203.0.113.9")) == "198.51.100.1"
    assert client_address(scope("198.51.100.1", "203.0.113.9"), PROXIES) == "198.51.100.1"


def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() -> None:
    assert client_address(scope("192.0.2.1", "203.0.113.9"), PROXIES) == "203.0.113.9"
    # A client's own prefix is skipped: only hops our proxies appended are believed.
    assert client_address(scope("10.1.1.1", "6.6.6.6, 203.0.113.9, 10.2.2.2"),
                          PROXIES) == "203.0.113.9"
    # Several headers read as one list, in order.
    assert client_address(scope("10.1.1.1", "6.6.6.6", "203.0.113.9"),
                          PROXIES) == "203.0.113.9"


def test_a_trusted_peer_without_a_header_is_itself_the_client() -> None:
    assert client_address(scope("10.1.1.1"), PROXIES) == "10.1.1.1"
    assert client_address({"client": None, "headers": []}, PROXIES) == "unknown"


def test_one_token_has_one_key_however_it_arrives() -> None:
    assert token_key("bf_abc") == token_key(b"bf_abc ") == token_key(b"bf_abc")
    assert token_key("bf_abc") != token_key("bf_abd")


def test_open_sockets_refuse_past_either_cap_and_count_nothing_then() -> None:
    sockets = OpenSockets()
    assert sockets.open("t", "a", per_token=1, per_address=2) is None
    assert "this token already has 1" in (sockets.open("t", "a", 1, 2) or "")
    assert sockets.open(None, "a", 1, 2) is None
    assert "this address already has 2" in (sockets.open("u", "a", 1, 2) or "")
    assert (sockets.by_token, sockets.by_address) == ({"t": 1}, {"a": 2})
    sockets.close("t", "a")
    sockets.close(None, "a")
    assert not sockets.by_token and not sockets.by_address
