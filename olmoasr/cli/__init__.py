"""Thin Typer layer: each module parses options and calls library functions, nothing more.

A command module defines `ORDER` (its place in `olmoasr --help`) and `register(app)`; `main.py`
discovers the modules, so a command exists exactly when its module does.
"""
