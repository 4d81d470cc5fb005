"""Validate objects against the official HSDS 3.1 JSON schemas (shared/data/hsds-3.1)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# A copy of shared/data/hsds-3.1 (the schemas, without the 18 MB of compiled ones, which the
# registry below replaces by resolving references, and the examples), so the tests run in
# any clone, wherever it sits.
HSDS = Path(__file__).resolve().parents[1] / "fixtures" / "hsds-3.1"
EXAMPLES = HSDS / "examples"


@cache
def registry() -> Registry:
    resources = []
    for path in (HSDS / "schema").glob("*.json"):
        if path.name == "openapi.json":
            continue
        schema = json.loads(path.read_text())
        resources.append((path.name, Resource.from_contents(schema,
                                                            default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str, formats: bool) -> Draft202012Validator:
    folder = HSDS / "schema" / ("compiled" if (HSDS / "schema" / "compiled" /
                                               f"{name}.json").is_file() else "")
    schema = json.loads((folder / f"{name}.json").read_text())
    return Draft202012Validator(schema, registry=registry(),
                                format_checker=FormatChecker() if formats else None)


def errors(name: str, obj: Any, formats: bool = False) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(name, formats).iter_errors(obj)]
