"""`bedfinder report MEASURE`: export an analytics measure as CSV."""

from __future__ import annotations

import typer

app = typer.Typer(help="Export analytics measures as CSV.", no_args_is_help=True)
