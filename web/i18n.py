"""The pages' languages: which one a request gets, and its message catalogs.

Catalogs are the `.po` files under `web/translations/` (see docs/i18n.md), read and compiled
in memory when the process starts: nothing is fetched at run time and no compiled `.mo` file
can go stale beside its source. Two domains: `messages` (Jinja templates and Python) and `js`
(the pages' scripts, handed to `window.t` as JSON, only the page's own language).

A request's language: `?lang=` (then remembered in the `bf_lang` cookie), else that cookie,
else the browser's Accept-Language negotiated by Babel, else English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "bf_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
DEFAULT = "en"
# BCP 47 tags as they appear in URLs, cookies and <html lang>; Babel's locale ids beside them.
LANGUAGES: dict[str, str] = {"en": "en", "es": "es", "zh-Hant": "zh_Hant", "vi": "vi"}
# Chinese of any region reads the one Chinese catalog we keep (Traditional).
ALIASES = {"zh": "zh_Hant", "zh_TW": "zh_Hant", "zh_HK": "zh_Hant", "zh_MO": "zh_Hant",
           "zh_CN": "zh_Hant", "zh_SG": "zh_Hant", "zh_Hans": "zh_Hant"}
MAX_ACCEPT_ITEMS = 20


@dataclass(frozen=True)
class Language:
    """One language of the pages: its tag, its name in itself, and its compiled catalogs."""

    tag: str
    locale: Locale
    messages: Translations
    js: dict[str, Any] = field(default_factory=dict)

    @property
    def native_name(self) -> str:
        name = self.locale.get_display_name(self.locale) or self.tag
        return name[:1].upper() + name[1:]

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def gettext(self, message: str) -> str:
        return self.messages.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.messages.ngettext(singular, plural, n)


def _compiled(tag: str, domain: str) -> tuple[Translations, list[Any]]:
    """The catalog of `domain` in `tag` (empty for English or a missing file), and its
    translated messages for the JSON handed to the page's scripts."""
    po = TRANSLATIONS / LANGUAGES[tag] / "LC_MESSAGES" / f"{domain}.po"
    if not po.is_file():
        return Translations(), []
    with po.open("rb") as source:
        catalog = read_po(source, locale=LANGUAGES[tag], domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return Translations(buffer, domain=domain), [m for m in catalog if m.id and m.string]


def _js_catalog(messages: list[Any], locale: Locale) -> dict[str, Any]:
    """`{"plurals": [categories], "messages": {msgid: text or [forms]}}`, keyed by the
    singular msgid."""
    out: dict[str, Any] = {}
    for message in messages:
        if message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            if all(message.string):
                out[message.id[0]] = list(message.string)
        else:
            out[message.id] = message.string
    return {"plurals": plural_categories(locale), "messages": out}


def plural_categories(locale: Locale) -> list[str]:
    """The CLDR plural categories of `locale` in the order of its gettext plural forms, so
    the page can pick a form with `Intl.PluralRules` (Babel orders them the same way)."""
    tags = locale.plural_form.tags
    return [tag for tag in ("zero", "one", "two", "few", "many") if tag in tags] + ["other"]


@cache
def language(tag: str) -> Language:
    """The language `tag` (one of LANGUAGES), compiled once per process."""
    locale = Locale.parse(LANGUAGES[tag])
    messages, _ = _compiled(tag, "messages")
    _, js_messages = _compiled(tag, "js")
    return Language(tag, locale, messages, _js_catalog(js_messages, locale))


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated where the request's language is known."""
    return message


def supported(value: str | None) -> str | None:
    """The tag we serve for `value` (`es`, `zh-Hant`, `zh_TW`, `VI`...), or None."""
    if not value or len(value) > 35:
        return None
    wanted = value.strip().replace("-", "_")
    available = list(LANGUAGES.values())
    found = negotiate_locale([wanted], available, sep="_", aliases=ALIASES)
    if found is None and "_" in wanted:  # `es_MX` -> `es`; `zh_Hant_TW` -> `zh_Hant`
        found = negotiate_locale([wanted.split("_")[0]], available, sep="_", aliases=ALIASES)
    by_id = {babel_id.lower(): tag for tag, babel_id in LANGUAGES.items()}
    return by_id.get(found.lower()) if found else None


def accepted(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first (q=0 means not wanted)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:MAX_ACCEPT_ITEMS]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose(request: Request) -> tuple[str, bool]:
    """The request's language, and whether it was asked for in the address (to remember)."""
    asked = supported(request.query_params.get("lang"))
    if asked:
        return asked, True
    remembered = supported(request.cookies.get(COOKIE))
    if remembered:
        return remembered, False
    for tag in accepted(request.headers.get("accept-language", "")):
        found = supported(tag)
        if found:
            return found, False
    return DEFAULT, False


def remember(response: Response, request: Request, tag: str) -> None:
    """Keep the chosen language for the next pages (not a secret: readable, same-site)."""
    response.set_cookie(COOKIE, tag, max_age=COOKIE_MAX_AGE, path="/", samesite="lax",
                        secure=request.url.scheme == "https", httponly=True)


def switcher_links(request: Request, current: str) -> list[dict[str, Any]]:
    """One link per language, keeping the page's other query parameters."""
    links = []
    for tag in LANGUAGES:
        query = request.url.include_query_params(lang=tag).query
        links.append({"tag": tag, "name": language(tag).native_name, "href": f"?{query}",
                      "current": tag == current})
    return links


@pass_context
def _gettext(context: Context, message: str) -> str:
    chosen: Language = context.get("i18n") or language(DEFAULT)
    return chosen.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    chosen: Language = context.get("i18n") or language(DEFAULT)
    return chosen.ngettext(singular, plural, n)


def install(environment: Any) -> None:
    """Jinja's i18n extension with `_`, `gettext` and `ngettext` reading the language the
    page is rendered in (the `i18n` context variable); new-style: `%(name)s` autoescaped."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
