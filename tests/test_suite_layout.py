"""The suite runs whole or file by file: every test folder is a package, and shared helpers are modules.

A folder without `__init__.py` puts `tests/` on the import path, where `tests/ray` then shadows the real
`ray` (so `importorskip("ray")` does not skip), and `from conftest import ...` depends on which folders
pytest happened to collect first.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _python_folders() -> list[Path]:
    return sorted({path.parent for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts})


def test_every_test_folder_is_a_package():
    missing = [str(f.relative_to(TESTS.parent)) for f in _python_folders() if not (f / "__init__.py").is_file()]
    assert missing == [], f"add __init__.py to: {', '.join(missing)}"


def test_helpers_are_imported_from_modules_not_conftest():
    pattern = re.compile(r"^\s*(from conftest import|import conftest\b)", re.MULTILINE)
    offenders = [str(p.relative_to(TESTS.parent)) for p in TESTS.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == [], f"move the shared helpers into a helpers module: {', '.join(offenders)}"


def test_test_modules_import_each_other_relatively():
    """`from train.conftest import ...` works only while tests/ is on sys.path; `from ..train.conftest` always."""
    pattern = re.compile(r"^\s*from (\w+)\.(\w+) import", re.MULTILINE)
    offenders = [
        f"{p.relative_to(TESTS.parent)}: from {folder}.{module}"
        for p in TESTS.rglob("*.py")
        for folder, module in pattern.findall(p.read_text())
        if (TESTS / folder / f"{module}.py").is_file()
    ]
    assert offenders == []


def test_no_test_folder_shadows_an_importable_package():
    """Even as packages, `tests/<name>` must not be importable as `<name>`: tests/ is not on sys.path."""
    import sys

    assert str(TESTS) not in [str(Path(entry).resolve()) for entry in sys.path if entry]
