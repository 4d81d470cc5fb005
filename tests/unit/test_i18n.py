"""The pages' languages: every catalog is complete with the same placeholders as English, and
a request gets the language it asked for, else the one remembered, else its browser's, else
English."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from starlette.requests import Request

from web import i18n

PLACEHOLDER = {"messages": re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}"),
               "js": re.compile(r"\{(\w+)\}")}
TRANSLATED = [tag for tag in i18n.LANGUAGES if tag != "en"]


def catalog(tag: str, domain: str):  # type: ignore[no-untyped-def]
    path = i18n.TRANSLATIONS / i18n.LANGUAGES[tag] / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as source:
        return read_po(source, locale=i18n.LANGUAGES[tag], domain=domain)


def names(pattern: re.Pattern[str], text: str) -> set[str]:
    return {next(group for group in found.groups() if group) for found in pattern.finditer(text)}


@pytest.mark.parametrize("domain", ["messages", "js"])
@pytest.mark.parametrize("tag", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(tag: str, domain: str) -> None:
    template = i18n.TRANSLATIONS / f"{domain}.pot"
    with template.open("rb") as source:
        wanted = {m.id for m in read_po(source) if m.id}
    translated = catalog(tag, domain)
    found = {m.id: m for m in translated if m.id}
    assert wanted <= set(found), f"{tag} {domain} lacks {sorted(map(str, wanted - set(found)))}"
    pattern = PLACEHOLDER[domain]
    for message in found.values():
        assert not message.fuzzy, f"{tag}: fuzzy {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{tag}: no translation of {message.id!r}"
        expected = set().union(*(names(pattern, text) for text in ids))
        for form in forms:
            # a plural form may leave out {count}/%(num)s (Chinese says "one" without it)
            assert names(pattern, form) <= expected, f"{tag}: {form!r} for {ids[0]!r}"
            assert expected - {"count", "num"} <= names(pattern, form), \
                f"{tag}: {form!r} lacks a placeholder of {ids[0]!r}"


def test_catalogs_compile_and_translate() -> None:
    assert i18n.language("es").gettext("Language") == "Idioma"
    assert i18n.language("zh-Hant").gettext("Language") == "語言"
    assert i18n.language("en").gettext("Language") == "Language"
    assert i18n.language("vi").direction == "ltr"
    assert i18n.language("es").js["plurals"][-1] == "other"
    assert [i18n.language(tag).native_name for tag in i18n.LANGUAGES][:2] == [
        "English", "Español"]


@pytest.mark.parametrize(("asked", "served"), [
    ("es", "es"), ("ES", "es"), ("es-MX", "es"), ("zh-Hant", "zh-Hant"), ("zh_TW", "zh-Hant"),
    ("zh", "zh-Hant"), ("zh-Hant-HK", "zh-Hant"), ("vi", "vi"), ("vi-VN", "vi"), ("en-GB", "en"),
    ("fr", None), ("", None), ("x" * 80, None), ("../../etc", None)])
def test_supported_language_tags(asked: str, served: str | None) -> None:
    assert i18n.supported(asked) == served


def request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = [(b"accept-language", accept.encode())] if accept else []
    if cookie:
        headers.append((b"cookie", f"bf_lang={cookie}".encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(),
                    "headers": headers, "scheme": "http", "server": ("test", 80)})


def test_the_address_wins_then_the_cookie_then_the_browser_then_english() -> None:
    assert i18n.choose(request("lang=vi", "es", "zh-TW")) == ("vi", True)
    assert i18n.choose(request("lang=xx", "es", "zh-TW")) == ("es", False)
    assert i18n.choose(request("", "", "fr-CA, vi;q=0.8, es;q=0.9")) == ("es", False)
    assert i18n.choose(request("", "", "fr, de;q=0.5")) == ("en", False)
    assert i18n.choose(request("", "", "es;q=0, vi;q=bogus")) == ("en", False)
    assert i18n.choose(request()) == ("en", False)


def test_switcher_keeps_the_other_parameters() -> None:
    links = i18n.switcher_links(request("levels=shelter&lang=es"), "es")
    assert [link["tag"] for link in links] == list(i18n.LANGUAGES)
    spanish = next(link for link in links if link["tag"] == "es")
    assert spanish["current"] and spanish["href"] == "?levels=shelter&lang=es"
    assert next(link for link in links if link["tag"] == "vi")["href"] == \
        "?levels=shelter&lang=vi"


def test_every_outcome_group_code_has_words_on_the_analytics_page() -> None:
    """The outcome tables show group codes (inventory/outcomes.py); each needs its words in
    parts.js, or the page shows a code such as `hispanic_or_latino` in every language."""
    from inventory.outcomes import ALL, MULTIPLE, NOT_RECORDED, RACE_ETHNICITY_CODES

    script = (i18n.TRANSLATIONS.parent / "static" / "analytics" / "parts.js").read_text("utf-8")
    words = set(re.findall(r'"?([\w-]+)"?: t\("', script.split("const GROUP_WORDS", 1)[1]
                           .split("};", 1)[0]))
    payers_genders = {"medi-cal", "medicare", "private", "uninsured", "county", "va",
                      "female", "male", "nonbinary"}
    assert {ALL, MULTIPLE, NOT_RECORDED, *RACE_ETHNICITY_CODES, *payers_genders} <= words
