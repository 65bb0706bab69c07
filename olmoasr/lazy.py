"""Lazy package exports: `import olmoasr.pipeline` costs nothing until a name is used.

A package `__init__` lists `{name: module}` and gets its `__getattr__` from `lazy_exports`, so importing
one light module of a package (the training loader reading the segment store, say) never drags in the
heavy neighbours (tagging, language ID, jiwer, torch) that the package's other names need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package` that imports `exports[name]` on first use of `name`."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


def lazy_dir(module_globals: dict[str, Any], exports: Iterable[str]) -> Callable[[], list[str]]:
    """A module-level `__dir__`: the public names (lazy ones included) and the module's dunders, not the
    helpers its own code imports (`Any`, `annotations`, `importlib`)."""
    public = set(exports)

    def __dir__() -> list[str]:
        return sorted({*public, *(name for name in module_globals if name.startswith("__"))})

    return __dir__
