"""Analytics over HTTP: measures as JSON and CSV (`/api/v1/reports/...`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
