"""Every Redis key name Bedfinder uses, in one place: no other module formats a key.

All keys of one deployment share a prefix such as `bf{main}:` (`BEDFINDER_REDIS_PREFIX`).
The braces are a Redis Cluster hash tag: a cluster hashes only the text between the first
`{` and the next `}`, so every key under one prefix lands in the same slot. The Lua scripts
need that: one call touches a unit's hash, the seq counter, the event stream, the epoch and
the hold sets together, and a cluster refuses a script (or a MULTI) whose keys live in
different slots. A prefix without a non-empty hash tag is therefore refused here, at
startup, rather than by the cluster on the first write.

Two prefixes with different tags (`bf{t1}:`, `bf{t2}:`) share nothing, which is how tests and
benchmarks run side by side on one Redis.
"""

from __future__ import annotations

import re


def hash_tag(key: str) -> str | None:
    """The part of `key` Redis Cluster hashes: the text between the first `{` and the first
    `}` after it, when that text is not empty; None when the whole key is hashed."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1:end]


def tagged_prefix(tag: str) -> str:
    """The prefix `bf{<tag>}:`, for a test or benchmark run that needs keys of its own."""
    if not tag or "{" in tag or "}" in tag:
        raise ValueError(f"a hash tag is a non-empty word without braces, got {tag!r}")
    return f"bf{{{tag}}}:"


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a SCAN glob (braces are not special there; these are)."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


class Keys:
    """The key names under one prefix. Fixed names are attributes; names that carry an id
    are methods. Each name's value type is written beside it."""

    def __init__(self, prefix: str) -> None:
        tag = hash_tag(prefix)
        if tag is None:
            raise ValueError(
                f"the Redis key prefix {prefix!r} has no hash tag; write it like 'bf{{main}}:' "
                "so every key stays in one Redis Cluster slot, which the Lua scripts need")
        self.prefix = prefix
        self.tag = tag
        # The live state (inventory/live.py and the scripts in inventory/lua/).
        self.seq = prefix + "seq"  # string: the last seq handed out (INCR)
        self.stream = prefix + "events"  # stream: one entry `<seq>-0` per accepted change
        # string: the epoch of the rebuild the live state came from; while it is missing the
        # live state is not ready and every script refuses with NOTREADY.
        self.epoch = prefix + "ready"
        # string: the seq the current live state was rebuilt at; every seq handed out before
        # that rebuild is at or below it (inventory/rebuild_fence.py).
        self.rebuild_floor = prefix + "rebuild_floor"
        self.units = prefix + "units"  # set: every unit id in the live state
        self.hold_expiry = prefix + "hold_expiry"  # zset: hold id -> expiry (ms since epoch)
        # Everything else in Redis.
        self.notify_channel = prefix + "notify"  # pub/sub channel of targeted messages
        self.demand = prefix + "demand"  # list: recorded searches waiting for analytics
        self.directory_version = prefix + "directory_version"  # string: directory cache
        self.feed_stale = prefix + "feed:stale"  # hash: unit id -> when it was marked stale
        self.feed_webhook = prefix + "feed:webhook"  # hash: the reminder webhook's health
        # Not a key: the prefix the `limits` library puts before its own rate-limit keys.
        self.rate_limits = prefix + "rate"

    def unit(self, unit_id: str) -> str:
        """hash: one unit's counts and who last changed them."""
        return f"{self.prefix}unit:{unit_id}"

    def unit_holds(self, unit_id: str) -> str:
        """set: ids of the unit's active holds (their number is the unit's `held`)."""
        return f"{self.prefix}unit_holds:{unit_id}"

    def hold(self, hold_id: str) -> str:
        """hash: an active hold's unit and expiry."""
        return f"{self.prefix}hold:{hold_id}"

    def lock(self, name: str) -> str:
        """string: the token of whoever holds the cluster-wide lock `name`."""
        return f"{self.prefix}lock:{name}"

    def watch(self, transition_id: str) -> str:
        """set: program ids a transition's navigator was already told have a bed."""
        return f"{self.prefix}watch:{transition_id}"

    def feed_status(self, feed: str) -> str:
        """hash: a feed's last success, last error, failures and next run."""
        return f"{self.prefix}feed:status:{feed}"

    def feed_due(self, feed: str) -> str:
        """string that expires: present while a feed's current poll interval is claimed."""
        return f"{self.prefix}feed:due:{feed}"

    def session(self, digest: str) -> str:
        """string that expires (idle timeout): a signed-in person's session, JSON, under the
        SHA-256 of the id in their cookie (web/web_sessions.py)."""
        return f"{self.prefix}session:{digest}"

    def session_recheck(self, digest: str) -> str:
        """string that expires: present while one process rechecks this session at the
        identity provider."""
        return f"{self.prefix}session_recheck:{digest}"

    def signin(self, state: str) -> str:
        """string that expires: an unfinished sign-in (nonce, PKCE verifier, next page)
        under its OAuth `state`."""
        return f"{self.prefix}signin:{state}"

    # SCAN patterns

    @property
    def every_key(self) -> str:
        """SCAN pattern matching every key under this prefix."""
        return _glob_escaped(self.prefix) + "*"

    @property
    def every_hold(self) -> str:
        """SCAN pattern matching every `hold` hash."""
        return _glob_escaped(self.prefix) + "hold:*"

    @property
    def every_unit_holds(self) -> str:
        """SCAN pattern matching every `unit_holds` set."""
        return _glob_escaped(self.prefix) + "unit_holds:*"

    def __repr__(self) -> str:
        return f"Keys({self.prefix!r})"
