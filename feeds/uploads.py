"""The file out of an upload body: multipart/form-data (field `file`) or the raw body.

Parsed with the standard library's MIME parser, so the app needs no multipart package; the
body size is already capped by the app's body-size limit.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from inventory.errors import Invalid


def file_from_body(content_type: str, body: bytes, field: str = "file") -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise Invalid("the multipart body could not be read (boundary missing or wrong)")
    for part in message.iter_parts():
        if _field_name(part) == field:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    raise Invalid(f"the form has no field named {field!r}")


def _field_name(part: Message) -> str | None:
    disposition = part.get("Content-Disposition", "")
    if not disposition:
        return None
    return part.get_param("name", header="content-disposition")  # type: ignore[return-value]
