"""Logging that never writes a token: websockets and pages take `?token=`, and uvicorn logs
request lines with their query strings."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9_\-\.]+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple)
                                          else (record.args,)))
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        return True


def redact(text: str) -> str:
    return BEARER.sub(r"\1[redacted]", TOKEN.sub(r"\1[redacted]", text))


def install() -> None:
    redactor = RedactTokens()
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "web", "inventory", "feeds"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(redactor)


REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")


class RequestId(logging.Filter):
    """Adds the current request's id to every record logged while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def json_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's `log_config` for one JSON object per line, tokens redacted, request ids
    attached. Logs name tokens by id and units by id, never a client."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestId}, "redact": {"()": RedactTokens}},
        "formatters": {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                "filters": ["request_id", "redact"],
                                "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
