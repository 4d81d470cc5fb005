"""Client references are opaque: a navigator's own code for a person, never the person.

We refuse references that look like identifying data (spaces suggest names; dates suggest
birth dates; long digit runs suggest record or phone numbers), because 42 CFR Part 2 and
HIPAA make identified substance-use treatment records among the most protected data there is.
"""

from __future__ import annotations

import re

from inventory.errors import Invalid

REF = re.compile(r"^[A-Za-z0-9._:#-]{1,64}$")
DATE = re.compile(r"(19|20)\d{2}[-/.]?[01]\d[-/.]?[0-3]\d|\b[01]?\d[-/.][0-3]?\d[-/.](19|20)?\d{2}\b")
DIGITS = re.compile(r"\d{7,}")
NOTE_IDENTIFIERS = re.compile(r"\b(DOB|date of birth|SSN|MRN)\b", re.IGNORECASE)


def check_client_ref(ref: str) -> str:
    """Return `ref` if it is an acceptable opaque reference; raise Invalid saying why not."""
    if not REF.match(ref):
        raise Invalid("client_ref must be an opaque code of 1-64 letters, digits or . _ : # - "
                      "(no spaces, no names)")
    if DATE.search(ref):
        raise Invalid("client_ref must not contain a date (it could be a birth date)")
    if DIGITS.search(ref):
        raise Invalid("client_ref must not contain 7 or more digits in a row "
                      "(it could be a record, phone or social security number)")
    return ref


def check_note(note: str) -> str:
    """Free-text notes about a client must not carry identifiers either."""
    if DATE.search(note) or DIGITS.search(note) or NOTE_IDENTIFIERS.search(note):
        raise Invalid("note must not identify the client (no dates, ID numbers, DOB, SSN, MRN)")
    return note
