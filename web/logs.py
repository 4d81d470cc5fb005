"""Logging that never writes a token: websockets take `?token=` (and pages `?token=` once),
uvicorn logs websocket request lines with their raw query strings, and anything else may end
up in an exception's message.

Redaction looks at a line as written and as a URL decodes it (`tok%65n=b%66_...` is the
token `bf_...` to the app), and blanks the value of any `token` parameter, any `Bearer`
credential and anything shaped like a Bedfinder token (`bf_` and URL-safe characters,
whatever parameter carries it). tests/integration/test_token_logs.py greps a whole run's log
for every token it minted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9_\-\.~+/=]+", re.IGNORECASE)
TOKEN_VALUE = re.compile(r"(bf_)[A-Za-z0-9_\-]+")
REDACTED = r"\1[redacted]"
DECODE_ROUNDS = 3  # %2574 is decoded twice before it reads "t"; enough for any real client
# Attributes every LogRecord has; anything else was passed as `extra` and is redacted too.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _redact_plain(text: str) -> str:
    return TOKEN_VALUE.sub(REDACTED, BEARER.sub(REDACTED, TOKEN.sub(REDACTED, text)))


def _decoded(text: str) -> str:
    for _ in range(DECODE_ROUNDS):
        if "%" not in text:
            break
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def redact(text: str) -> str:
    """`text` with every token blanked. When only the URL-decoded form shows a token, the
    decoded form is returned (redacted), so nothing encoded slips through."""
    plain = _redact_plain(text)
    decoded = _decoded(plain)
    if decoded == plain:
        return plain
    cleaned = _redact_plain(decoded)
    return cleaned if cleaned != decoded else plain


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Blanks tokens in a record's message, arguments, extras and exception text. Arguments
    keep their shape (uvicorn's access formatter unpacks them); a message that still shows a
    token once formatted (a token inside an exception or URL object) is replaced by its
    redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call; the handler will say so
            message = ""
        if redact(message) != message:
            record.msg, record.args = redact(message), ()
        for key, value in list(vars(record).items()):
            if key not in STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        self._redact_exception(record)
        return True

    @staticmethod
    def _redact_exception(record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and redact(record.exc_text) != record.exc_text:
            record.exc_text, record.exc_info = redact(record.exc_text), None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)


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
