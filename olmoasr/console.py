"""Shared rich consoles: tables and results on stdout, progress and problems on stderr."""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def stdout_console() -> Console:
    return Console(highlight=False)


@cache
def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)
