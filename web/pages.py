"""Server-rendered pages (Jinja2) and their static files: navigator, provider, display."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
