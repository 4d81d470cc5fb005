"""The keyspace: every key of a deployment sits in its prefix's Redis Cluster slot, key
families never collide, and a prefix the cluster would scatter is refused at startup."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from inventory.keys import Keys, hash_tag, tagged_prefix

PREFIX = "bf{main}:"
IDS = st.text(min_size=1, max_size=40)


def every_name(keys: Keys, some_id: str) -> dict[str, str]:
    """Every name `keys` can produce, found by looking (so a key added later is covered
    without editing this test): its string attributes, and its one-argument methods called
    with `some_id`."""
    names = {attr: value for attr, value in vars(keys).items()
             if isinstance(value, str) and attr not in ("prefix", "tag")}
    for attr, method in inspect.getmembers(keys, inspect.ismethod):
        if not attr.startswith("_"):
            names[f"{attr}()"] = method(some_id)
    return names


def slot(key: str) -> int:
    return key_slot(key.encode())


def test_every_key_carries_the_prefixs_hash_tag() -> None:
    keys = Keys(PREFIX)
    names = every_name(keys, "unit-1")
    # The catalogue really is the whole keyspace as described in the module docstring.
    assert {"seq", "stream", "epoch", "units", "hold_expiry", "notify_channel", "demand",
            "directory_version", "feed_stale", "feed_webhook", "rate_limits", "unit()",
            "unit_holds()", "hold()", "lock()", "watch()", "feed_status()",
            "feed_due()", "session()", "session_recheck()",
            "signin()"} <= set(names)
    for name, key in names.items():
        assert key.startswith(PREFIX), name
        assert hash_tag(key) == "main", name
        assert slot(key) == slot("main"), name


@given(some_id=IDS)
@settings(deadline=None)  # pure computation: a deadline would time the machine's load
def test_no_id_moves_a_key_out_of_its_slot(some_id: str) -> None:
    """Ids are user-visible text (a unit id may contain braces): the prefix's tag comes
    first, so whatever follows it cannot change the slot."""
    keys = Keys(tagged_prefix("t1"))
    for name, key in every_name(keys, some_id).items():
        assert slot(key) == slot("t1"), (name, key)


@given(a=IDS, b=IDS)
@settings(deadline=None)
def test_key_families_never_collide(a: str, b: str) -> None:
    """A unit's hash is never a hold's hash or a fixed name, whatever the ids are."""
    keys = Keys(PREFIX)
    first, second = every_name(keys, a), every_name(keys, b)
    for name, key in first.items():
        others = {n for n, k in second.items() if k == key}
        assert others <= {name}, (name, key, others)


def test_prefixes_with_different_tags_share_no_key() -> None:
    one, two = Keys(tagged_prefix("a")), Keys(tagged_prefix("b"))
    assert not set(every_name(one, "x").values()) & set(every_name(two, "x").values())


@pytest.mark.parametrize("prefix", ["bf:", "bf{}:", "bf}main{:", "{", ""])
def test_a_prefix_without_a_hash_tag_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="has no hash tag; write it like 'bf{main}:'"):
        Keys(prefix)


@pytest.mark.parametrize("tag", ["", "a{b", "a}b"])
def test_a_tag_with_braces_or_empty_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="a hash tag is a non-empty word without braces"):
        tagged_prefix(tag)


@pytest.mark.parametrize(("key", "tag"), [
    ("bf{main}:seq", "main"), ("{a}{b}", "a"), ("x{}{b}", None), ("plain", None),
    ("x{open", None), ("bf{t1}:unit:{u}", "t1"),
])
def test_hash_tag_follows_the_cluster_rule(key: str, tag: str | None) -> None:
    """The rule as Redis Cluster applies it, checked against its own slot function."""
    assert hash_tag(key) == tag
    assert slot(key) == slot(tag if tag is not None else key)


def test_scan_patterns_escape_glob_characters_of_the_prefix() -> None:
    keys = Keys("bf{a*b?[c]}:")
    assert keys.every_key == r"bf{a\*b\?\[c\]}:*"
    assert keys.every_hold == r"bf{a\*b\?\[c\]}:hold:*"
    assert keys.every_unit_holds == r"bf{a\*b\?\[c\]}:unit_holds:*"
