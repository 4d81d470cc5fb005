"""Logging that never writes a token: websockets and pages take `?token=`, and uvicorn logs
request lines with their query strings."""

from __future__ import annotations

import logging
import re

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
