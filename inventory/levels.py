"""Levels of care and care pathways, as configured in `config.yaml`: the vocabulary every
screen and reason uses (display names by language, bed or slot)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inventory.config import LevelOfCare

LANGUAGES = ("en", "es", "zh-Hant", "vi")  # the pages' languages (web/i18n.py, docs/i18n.md)


@dataclass(frozen=True, slots=True)
class Levels:
    levels: Mapping[str, LevelOfCare]
    pathways: Mapping[str, list[str]]

    def names(self, lang: str = "en") -> dict[str, str]:
        """Display names in `lang`, falling back to English where none is configured."""
        return {key: (level.names.get(lang) if lang != "en" else None) or level.name
                for key, level in self.levels.items()}

    def catalogue(self) -> list[dict[str, Any]]:
        """Every level with its kind, its names in each supported language and the pathways
        it is on: where a person goes next from it (`next`) and from which levels it is a
        next step (`after`)."""
        after: dict[str, list[str]] = {key: [] for key in self.levels}
        for origin, steps in self.pathways.items():
            for step in steps:
                after.setdefault(step, []).append(origin)
        return [{"id": key, "kind": level.kind, "asam": list(level.asam),
                 "names": {lang: self.names(lang)[key] for lang in LANGUAGES},
                 "next": list(self.pathways.get(key, [])), "after": after.get(key, [])}
                for key, level in self.levels.items()]
