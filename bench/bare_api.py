"""The bare FastAPI baseline for `bench.ingest`: the same `PUT` routes with pydantic bodies,
answered from memory. No Redis, SQL, auth, middleware or rate limit: the floor Bedfinder's
write path is compared with, served by the same uvicorn and driven by the same client in the
same run (`python -m bench.ingest` measures both).

    uvicorn --factory bench.bare_api:app_factory
"""

from __future__ import annotations

from itertools import count

from fastapi import FastAPI
from pydantic import BaseModel, Field


class Update(BaseModel):
    available: int = Field(ge=0, le=100_000)
    capacity: int | None = None
    waitlist: int | None = None
    note: str = Field(default="", max_length=500)


class UnitUpdate(Update):
    unit_id: str


class Batch(BaseModel):
    updates: list[UnitUpdate] = Field(min_length=1, max_length=1000)


def app_factory() -> FastAPI:
    app = FastAPI()
    seqs = count(1)
    counts: dict[str, int] = {}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.put("/api/v1/units/{unit_id}/availability")
    async def put(unit_id: str, body: Update) -> dict[str, object]:
        counts[unit_id] = body.available
        return {"id": unit_id, "available": body.available, "held": 0, "waitlist": 0,
                "capacity": body.capacity or 10, "status": "open", "seq": next(seqs)}

    @app.put("/api/v1/availability")
    async def put_many(body: Batch) -> dict[str, object]:
        results = []
        for u in body.updates:
            counts[u.unit_id] = u.available
            results.append({"unit_id": u.unit_id, "status": 200, "seq": next(seqs),
                            "available": u.available})
        return {"applied": len(results), "refused": 0, "results": results}

    return app
