"""A stream entry reads the same whether its fields are one JSON object (written by the
scripts now) or separate fields (written before, and still in a stream after an upgrade)."""

from __future__ import annotations

import orjson

from inventory.live import event_from_entry

FIELDS = {"op": "set", "unit": "u-1", "program": "p-1", "available": "3", "held": "1",
          "waitlist": "0", "capacity": "8", "discharges": '[{"at":"2026-12-02T10:00:00+00:00",'
          '"count":1}]', "at": "2026-12-02T09:00:00+00:00", "by": "staff", "source": "api",
          "note": "after rounds", "hold": "", "actor": "staff",
          "event_at": "2026-12-02T09:00:00+00:00", "dir": "7"}


def test_an_entry_as_one_json_field_reads_as_the_same_entry_as_separate_fields() -> None:
    as_json = {**FIELDS, "available": 3, "held": 1, "waitlist": 0, "capacity": 8}
    new = event_from_entry("42-0", {"e": orjson.dumps(as_json).decode()})
    old = event_from_entry("42-0", FIELDS)
    assert new == old
    assert (new.seq, new.unit.available, new.unit.held, new.unit.capacity) == (42, 3, 1, 8)
    assert new.unit.expected_discharges == [{"at": "2026-12-02T10:00:00+00:00", "count": 1}]
    assert new.directory_version == "7"
