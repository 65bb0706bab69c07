"""Every command's --help, rendered as a user sees it at 120 columns: nothing swallowed, cut or mislabelled."""

from __future__ import annotations

import re

import pytest
import typer

from olmoasr.cli.main import build_app, run
from olmoasr.model.hub import OLMOASR_MODELS

WIDTH = 120


def _commands() -> list[tuple[list[str], object]]:
    """(argv path, click command) for the root, every group and every command."""
    found = []

    def walk(path: list[str], command) -> None:
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk([*path, name], sub)

    walk([], typer.main.get_command(build_app()))
    return found


COMMANDS = _commands()


@pytest.fixture
def render(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(WIDTH))

    def rendered(path: list[str]) -> str:
        assert run([*path, "--help"]) == 0
        out = capsys.readouterr()
        assert out.err == ""
        return out.out

    return rendered


def test_every_command_is_covered():
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {"prep jsonl", "prep segment", "tag doc", "tag seg", "tag lang", "filter", "sample", "train",
                "eval", "transcribe", "convert", "quickstart"}  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "olmoasr" for p, _ in COMMANDS])
def test_help_is_whole_and_literal(render, path, command):
    text = render(path)
    assert "<bool>" not in text, "a flag shows a value placeholder"
    assert "\\b" not in text and "\\[" not in text, "an escape shows literally"
    assert "'olmoasr'" not in text, "an extra's [name] was swallowed as markup"
    too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert too_wide == []
    for param in command.params:
        for option in [*param.opts, *param.secondary_opts]:
            if option.startswith("-"):
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), f"{option} is cut"


def test_extras_keep_their_brackets_in_the_data_stage_help(render):
    for path in (["prep", "jsonl"], ["prep", "segment"], ["tag", "doc"], ["tag", "seg"], ["tag", "lang"], ["filter"]):
        assert "pip install 'olmoasr[ray]'" in " ".join(render(path).split()), path


def test_command_list_shows_whole_first_sentences(render):
    text = render([])
    listing = text.split("Commands:", 1)[1]
    for line in listing.strip().splitlines():
        assert line.rstrip().endswith("."), f"cut short: {line.strip()}"
        assert not line.rstrip().endswith(("e.g.", "...")), f"cut short: {line.strip()}"


def test_examples_run_offline(render):
    """An example that names a Hub model for --init-from fails without a network; use the installed one."""
    for path, _ in COMMANDS:
        for match in re.finditer(r"--init-from (\S+)", render(path)):
            assert match.group(1) not in OLMOASR_MODELS, f"{' '.join(path)}: --init-from {match.group(1)}"
