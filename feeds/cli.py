"""`bedfinder import ...`: bring directories and availability in from standard formats."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import directories and availability (HSDS, EDXL-HAVE, CSV).",
                  no_args_is_help=True)
