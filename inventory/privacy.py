"""Identifiers kept out of everything people type: the one place with the patterns.

Client references are opaque (a navigator's own code for a person, never the person), and
free text (notes on availability, attestations, census rows, provider websocket messages,
referrals) must not identify anyone, because 42 CFR Part 2 and HIPAA make identified
substance-use treatment records among the most protected data there is, and a bed board is
read by many people. Text is refused (never cleaned up) so nothing identifying is applied,
broadcast or written to the audit log; the refusal names each kind of identifier found but
never repeats the text itself, since refusals may be shown or logged.

What this cannot catch: names, addresses or descriptions in plain words ("the tall man from
Tuesday"). docs/security.md says so, and the pages tell people what a note is for.

False positives are kept rare on purpose: counts, times and short numbers ("2 discharges at
14:30", "call 415 intake desk", "ages 18-64", "back 12/24") pass; a date with a year does
not, since it could be a birth date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from inventory.errors import Invalid

REF = re.compile(r"^[A-Za-z0-9._:#-]{1,64}$")
MAX_REF = 64


Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Identifier:
    """One kind of identifier: what a person is told it looks like, and where it is found."""

    looks_like: str
    spans: Callable[[str], list[Span]]


def _pattern(regex: str) -> Callable[[str], list[Span]]:
    compiled = re.compile(regex, re.IGNORECASE)
    return lambda text: [m.span() for m in compiled.finditer(text)]


# Numbers: digits not glued to other digits (so "14:30" or "3 beds" never form a run).
_SSN = (r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])"   # 123-45-6789, 123 45 6789
        r"|(?<!\d)\d{9}(?!\d)"                            # 123456789
        r"|\bSSN\b|\bsocial\s+security\b|\bSS\s?#")
_PHONE = (r"(?<![\w+])\(\d{3}\)\s?\d{3}[-.\s]\d{4}(?!\d)"            # (415) 555-1234
          r"|(?<![\d-])(\+?1[-.\s])?\d{3}([-.\s])\d{3}\2\d{4}(?![\d-])"  # 415-555-1234
          r"|(?<![\d-])\d{3}[-.]\d{4}(?![\d-])"                        # 555-1234
          r"|(?<!\d)1?\d{10}(?!\d)"                                    # 4155551234
          r"|\+\d{1,3}[\s.-]?\d[\d\s.-]{6,}\d")                        # +44 20 7946 0958
_EMAIL = r"[\w.+-]+@[\w-]+(\.[\w-]+)+"
_RECORD = (r"\bMRN\b|\bmedical\s+record|\bmed\s*rec\b|\bchart\s*(no|number|#)"
           r"|\bpatient\s*(id|#|number)\b"
           r"|(?<!\d)\d{7,}(?!\d)")                          # 7 or more digits in a row
_BIRTH_WORDS = re.compile(r"\bD\.?O\.?B\b|\bdate\s+of\s+birth\b|\bbirth\s*(date|day)\b"
                          r"|\bborn\s+(on|in\s+\d)", re.IGNORECASE)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_WORD_DATE = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+(19|20)\d{{2}}\b"
    rf"|\b\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?{_MONTHS},?\s+(19|20)\d{{2}}\b", re.IGNORECASE)
# Candidates: a year first (1980-01-02) or last (01/02/1980, 1-2-80); the same separator twice.
_YEAR_FIRST = re.compile(r"(?<!\d)(?<!\d[-/.])((?:19|20)\d{2})([-/.])(\d{1,2})\2(\d{1,2})"
                         r"(?![-/.]?\d)")
_YEAR_LAST = re.compile(r"(?<!\d)(?<!\d[-/.])(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})"
                        r"(?![-/.]?\d)")


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _dates(text: str) -> list[Span]:
    """Calendar dates with a year, in any usual order, and words that announce a birth date;
    impossible dates ("2024-00-12", part of a case code) do not count."""
    spans = [m.span() for m in _WORD_DATE.finditer(text)]
    spans += [m.span() for m in _BIRTH_WORDS.finditer(text)]
    spans += [m.span() for m in _YEAR_FIRST.finditer(text)
              if _real_date(int(m[1]), int(m[3]), int(m[4]))]
    for m in _YEAR_LAST.finditer(text):
        first, second, year = int(m[1]), int(m[3]), m[4]
        if len(year) == 2 and m[2] == ".":  # "3.5.10" reads as a version, not a date
            continue
        full = int(year) if len(year) == 4 else 2000 + int(year)
        if _real_date(full, first, second) or _real_date(full, second, first):
            spans.append(m.span())
    return spans


# In this order: text found by one kind is blanked before the next looks, so an SSN is not
# also reported as a record number, nor a date as a run of digits.
IDENTIFIERS: tuple[Identifier, ...] = (
    Identifier("an e-mail address", _pattern(_EMAIL)),
    Identifier("a social security number", _pattern(_SSN)),
    Identifier("a date of birth", _dates),
    Identifier("a phone number", _pattern(_PHONE)),
    Identifier("a medical record number", _pattern(_RECORD)),
)


def identifiers_in(text: str) -> list[str]:
    """What `text` looks like it holds, in words ("a social security number", ...); empty
    when nothing identifying was found."""
    found: list[str] = []
    if not text:  # most notes: a census row or a count without one
        return found
    for kind in IDENTIFIERS:
        spans = kind.spans(text)
        if spans:
            found.append(kind.looks_like)
            for start, end in spans:
                text = text[:start] + " " * (end - start) + text[end:]
    return found


def _listed(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]


def check_client_ref(ref: str) -> str:
    """Return `ref` if it is an acceptable opaque reference; raise Invalid saying why not."""
    if not REF.match(ref):
        raise Invalid(f"client_ref must be an opaque code of 1-{MAX_REF} letters, digits or "
                      ". _ : # - (no spaces, no names)")
    kinds = identifiers_in(ref)
    if kinds:
        raise Invalid(f"client_ref was refused: it looks like {_listed(kinds)}. Use your own "
                      "case code (e.g. C-1042), never something that identifies the person")
    return ref


def check_note(note: str, field: str = "note") -> str:
    """Free text must not identify a client; raise Invalid naming what it looks like."""
    kinds = identifiers_in(note)
    if kinds:
        raise Invalid(f"{field} was refused and nothing was changed: it looks like it holds "
                      f"{_listed(kinds)}. Many people read it: write counts, times and "
                      "what staff need, and keep who the client is in your own records")
    return note
