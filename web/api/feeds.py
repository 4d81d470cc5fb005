"""Feeds over HTTP: standards' read endpoints (HSDS, FHIR), uploads, and feed status."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
