"""docs/architecture.md stays true to the code: every file it names exists, every name it cites is defined,
and the layering it states holds in the imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "olmoasr"
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PATH_LIKE = re.compile(r"^[\w./-]+(\.py|/)$")
NAME_LIKE = re.compile(r"^[A-Za-z_][\w.]*(\(\))?$")
FILE_NAME = re.compile(r"\.(jsonl|gz|zst|json|bin|tar|flac|pt|tsv|yaml|png|csv|srt|vtt|md)$")


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def _defined_names(sources: dict[Path, str]) -> set[str]:
    names: set[str] = set()
    for text in sources.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)  # dataclass / model fields, constants
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names.update((alias.asname or alias.name).split(".")[-1] for alias in node.names)
    names.update(path.stem for path in sources)  # modules
    names.update(path.parent.name for path in sources)  # packages
    return names


def _spans() -> list[str]:
    return CODE_SPAN.findall(DOC.read_text(encoding="utf-8"))


def test_every_named_file_or_folder_exists():
    paths = [s for s in _spans() if PATH_LIKE.match(s) and not s.startswith(".")]
    assert len(paths) > 30
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if ".git" not in p.parts]
    missing = [p for p in paths if not any(f == p.rstrip("/") or f.endswith("/" + p.rstrip("/")) for f in files)]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_every_cited_code_name_is_defined():
    sources = _sources()
    defined = _defined_names(sources)
    cited = {
        s.removesuffix("()")
        for s in _spans()
        if NAME_LIKE.match(s) and not PATH_LIKE.match(s) and not FILE_NAME.search(s)
    }
    # `module.name` cites `name`; bare words are field names, tags or code names
    unknown = []
    for span in sorted(cited):
        name = span.rsplit(".", 1)[-1]
        if name in defined or any(f'"{name}"' in text for text in sources.values()):
            continue
        unknown.append(span)
    assert not unknown, f"docs/architecture.md cites names the code does not define: {unknown}"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


_ABOVE_FOUNDATION = tuple(
    f"olmoasr.{name}"
    for name in (
        "records",
        "model",
        "engines",
        "pipeline",
        "train",
        "evaluation",
        "outputs",
        "synth",
        "quickstart",
        "cli",
    )
)


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("records", ("olmoasr.pipeline", "olmoasr.train", "olmoasr.evaluation", "olmoasr.model")),
        ("train", ("olmoasr.pipeline",)),
        ("evaluation", ("olmoasr.pipeline", "olmoasr.train")),
        ("model", ("olmoasr.pipeline", "olmoasr.train", "olmoasr.evaluation", "olmoasr.records", "olmoasr.outputs")),
        ("engines", ("olmoasr.pipeline", "olmoasr.train", "olmoasr.evaluation", "olmoasr.records", "olmoasr.outputs")),
        ("io", _ABOVE_FOUNDATION),
        ("text", _ABOVE_FOUNDATION),
        ("quickstart", ("olmoasr.cli",)),
    ],
)
def test_the_layering_the_doc_states(layer, forbidden):
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (PACKAGE / layer).rglob("*.py")
        for module in _imports(path)
        if module.startswith(forbidden)
    ]
    assert not bad, bad


def test_audio_py_is_the_only_module_that_imports_pyav():
    users = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if any(module == "av" or module.startswith("av.") for module in _imports(path))
    )
    assert users == ["olmoasr/audio.py"]
