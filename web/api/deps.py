"""Small dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from web.services import Services


def services(request: Request) -> Services:
    return request.app.state.services
