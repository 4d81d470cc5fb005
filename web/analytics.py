"""The analytics page (`/analytics`) for admins and analysts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
