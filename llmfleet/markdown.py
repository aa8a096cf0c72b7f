"""The plan report as Markdown, for pull-request comments and CI job summaries.

The report functions print rich renderables; this renders the same ones as Markdown, so a table
added to the report (serving, zones) reaches the Markdown without further work.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


class MarkdownCollector:
    """Takes what a report prints (a rich Console's ``print``) and keeps it as Markdown."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def print(self, renderable: Any = "", *_: Any, **options: Any) -> None:
        if isinstance(renderable, Table):
            self.parts.append(_table(renderable))
        elif isinstance(renderable, str):
            text = (
                renderable if options.get("markup") is False else Text.from_markup(renderable).plain
            )
            self.parts.append(text)
        else:
            self.parts.append(f"```\n{_plain(renderable)}```")

    def text(self) -> str:
        return "\n\n".join(self.parts) + "\n"


def _cell(value: Any) -> str:
    text = value.plain if isinstance(value, Text) else Text.from_markup(str(value)).plain
    return text.replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> str:
    headers = [_cell(column.header) for column in table.columns]
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    lines = [f"**{_cell(table.title)}**", ""] if table.title else []
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _plain(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(renderable)
    return console.file.getvalue()
