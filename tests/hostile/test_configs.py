"""Classes 7 and 8 (configs): non-UTF-8 YAML, a `base:` that loops, alias bombs, recursive aliases and
Python tags, through `train`, `tag` and `filter`. One short line each, quickly, whatever the input."""

from __future__ import annotations

import time

import pytest

from .conftest import expect_one_line


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """The classic: each level is `width` aliases of the previous one (9**8 = 43 million strings)."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def command_for(kind: str, config, tmp_path) -> list:
    if kind == "train":
        return ["train", "--config", config, "--data", tmp_path / "nodata", "--out", tmp_path / "run"]
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "part.jsonl").write_text("")
    if kind == "tag":
        return ["tag", "doc", tmp_path / "in", "-o", tmp_path / "out", "-c", config]
    return ["filter", tmp_path / "in", "-o", tmp_path / "out", "-c", config]


BAD_CONFIGS = {
    "latin-1 bytes": ("lr: 0.001\nexp_name: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    "alias bomb (train key)": ((alias_bomb() + "dims: *a7\n").encode(), "aliases expand"),
    "alias bomb (unused)": (alias_bomb().encode(), "aliases expand"),
    "recursive alias": (b"a: &a [1, *a]\nlr: *a\n", "recursive alias"),
    "python tag": (b"lr: !!python/object/apply:os.system ['touch PAYLOAD-RAN']\n", "not valid YAML"),
    "deep nesting": (b"lr: " + b"[" * 20000 + b"]" * 20000 + b"\n", "nested too deeply"),
}


@pytest.mark.parametrize("kind", ["train", "tag", "filter"])
@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_hostile_yaml_is_one_short_line(tmp_path, cli, marker, monkeypatch, kind, case):
    monkeypatch.chdir(tmp_path)  # where the `python tag` payload would drop its marker
    data, says = BAD_CONFIGS[case]
    config = tmp_path / "config.yaml"
    config.write_bytes(data)
    started = time.process_time()
    outcome = cli(*command_for(kind, config, tmp_path))
    line = expect_one_line(f"config {kind}: {case}", outcome, naming=config, says=says)
    assert len(line) < 400 and time.process_time() - started < 10  # CPU seconds: a loaded machine does not fail it
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()


def test_dims_override_with_an_alias_bomb_is_one_short_line(tmp_path, cli):
    outcome = cli("train", "--config", "micro", "--data", tmp_path, "--out", tmp_path / "run",
                  "--dims", alias_bomb().replace("\n", ", ").join("{}").replace(", }", "}"))  # fmt: skip
    line = expect_one_line("config train: alias bomb in --dims", outcome, naming="`dims` value", says="aliases")
    assert len(line) < 400


@pytest.mark.parametrize("loop", ["itself", "two files"])
def test_train_config_base_that_loops_is_one_line(tmp_path, cli, loop):
    first = tmp_path / "a.yaml"
    if loop == "itself":
        first.write_text("base: a.yaml\nlr: 0.001\n")
    else:
        first.write_text("base: b.yaml\nlr: 0.001\n")
        (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    outcome = cli("train", "--config", first, "--data", tmp_path, "--out", tmp_path / "run")
    expect_one_line(f"config train: base loops ({loop})", outcome, naming="a.yaml", says="loops back")
