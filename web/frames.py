"""Messages encoded once for every subscriber: their UTF-8 bytes and, made on first use, the
whole websocket text frame that the direct-write path (web/direct_write.py) sends as is."""

from __future__ import annotations

import orjson


class OutFrame:
    """One message: its UTF-8 bytes, and (made on first use) the whole unmasked,
    uncompressed websocket text frame."""

    __slots__ = ("_frame", "raw")

    def __init__(self, data: str, raw: bytes | None = None) -> None:
        self.raw = raw if raw is not None else data.encode()
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            n = len(self.raw)
            if n < 126:
                head = bytes((0x81, n))
            elif n < 65536:
                head = bytes((0x81, 126)) + n.to_bytes(2, "big")
            else:
                head = bytes((0x81, 127)) + n.to_bytes(8, "big")
            self._frame = head + self.raw
        return self._frame


class Joined:
    """Consecutive stream events as one buffer of frames (made on first use)."""

    __slots__ = ("_frame", "first", "items")

    def __init__(self, items: list[tuple[int, str, OutFrame]]) -> None:
        self.items = items
        self.first = items[0][0]
        self._frame: bytes | None = None

    @property
    def raws(self) -> list[bytes]:
        return [out.raw for _, _, out in self.items]

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = b"".join(out.frame for _, _, out in self.items)
        return self._frame


def encoded(message: dict) -> tuple[str, OutFrame]:
    """`message` serialized once: as text for the queue path, as a frame for direct writes."""
    raw = orjson.dumps(message)
    return raw.decode(), OutFrame("", raw)


def joined_frames(batch: list[tuple[int, dict]]) -> Joined:
    outs = []
    for seq, message in batch:
        data, out = encoded(message)
        outs.append((seq, data, out))
    return Joined(outs)
