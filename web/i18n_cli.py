"""`bedfinder i18n`: keep the pages' message catalogs in step with the code (docs/i18n.md).

`update` extracts every `_()`/`gettext` in templates and Python and every `t()`/`t.n()` in
the pages' scripts (pybabel), and merges the new messages into each language's `.po` file;
`check` lists what is left to translate. Catalogs are compiled when the server starts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from web.i18n import LANGUAGES, TRANSLATIONS

ROOT = TRANSLATIONS.parent.parent
DOMAINS = {
    "messages": (ROOT / "babel.cfg", ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2",
                                       "-k", "N_"]),
    "js": (ROOT / "babel-js.cfg", ["--no-default-keywords", "-k", "t", "-k", "t.n:1,2"]),
}
app = typer.Typer(help="Message catalogs of the pages (docs/i18n.md).", no_args_is_help=True)


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(domain: str) -> Path:
    mapping, keywords = DOMAINS[domain]
    template = TRANSLATIONS / f"{domain}.pot"
    with contextlib.chdir(ROOT):  # locations relative to the repository: web/static/...
        pybabel("extract", "-F", str(mapping), *keywords, "--sort-output",
                "--add-location=file", "--project=Bedfinder", "--msgid-bugs-address=",
                "-o", str(template), "web")
    return template


def merge(domain: str, template: Path, tag: str) -> None:
    """Bring one language's catalog up to the template: new messages come in empty, changed
    ones are marked fuzzy (shown in English until a translator confirms them)."""
    babel_id = LANGUAGES[tag]
    target = TRANSLATIONS / babel_id / "LC_MESSAGES" / f"{domain}.po"
    verb = "update" if target.is_file() else "init"
    pybabel(verb, "-i", str(template), "-d", str(TRANSLATIONS), "-D", domain, "-l", babel_id,
            *(["--ignore-obsolete"] if verb == "update" else []))


def untranslated(tag: str) -> dict[str, list[str]]:
    """Per domain, the messages of `tag` still empty or fuzzy."""
    out: dict[str, list[str]] = {}
    for domain in DOMAINS:
        po = TRANSLATIONS / LANGUAGES[tag] / "LC_MESSAGES" / f"{domain}.po"
        if not po.is_file():
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        out[domain] = [str(m.id) for m in catalog if m.id and (
            m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))]
    return out


@app.command()
def update() -> None:
    """Extract the messages and merge them into every language's catalog."""
    for domain in DOMAINS:
        template = extract(domain)
        for tag in LANGUAGES:
            if tag != "en":
                merge(domain, template, tag)
    check(strict=False)


@app.command()
def check(strict: Annotated[bool, typer.Option(help="Exit 1 if anything is left.")] = True,
          ) -> None:
    """List the messages still to translate, per language."""
    left = 0
    for tag in LANGUAGES:
        if tag == "en":
            continue
        for domain, messages in untranslated(tag).items():
            left += len(messages)
            typer.echo(f"{tag} {domain}: {len(messages)} to translate")
            for message in messages[:50]:
                typer.echo(f"  {message!r}")
    if strict and left:
        raise typer.Exit(1)
