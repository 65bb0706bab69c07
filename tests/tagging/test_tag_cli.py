"""The CLI layer of tag / filter / sample: runnable end to end, one-line errors, exit codes."""

from __future__ import annotations

import pytest

from olmoasr.cli.main import run

from ._records import doc, read_shard, seg, vtt, write_shard


def test_tag_filter_sample_from_the_command_line(tmp_path, capsys):
    write_shard(tmp_path / "docs" / "s.jsonl", [doc("a", "Hello, friend.", mach=vtt("hello friend"))])
    assert run(["tag", "doc", str(tmp_path / "docs"), "-o", str(tmp_path / "tagged"), "-w", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert "main_tagging" in out and "casing" in out
    assert read_shard(tmp_path / "tagged" / "s.jsonl")[0]["edit_dist"] == 0.0

    segments = [
        seg(
            f"a_{i}",
            "Hello.",
            audio_lang="en",
            text_lang="en",
            casing="mixed",
            repeating_lines=False,
            edit_dist=0.0,
            seg_edit_dist=0.1 * i,
        )
        for i in range(10)
    ]
    write_shard(tmp_path / "segs" / "s.jsonl.gz", segments)
    assert (
        run(
            [
                "filter",
                str(tmp_path / "segs"),
                "-o",
                str(tmp_path / "kept"),
                "-w",
                "1",
                "-q",
                "-c",
                "seg_edit_dist_0.4_edit_dist_0.4",
                "--rejects",
                str(tmp_path / "rej"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "seg_edit_dist" in out and "50.00%" in out and "dropped (value failed the step): seg_edit_dist: 5" in out
    assert len(read_shard(tmp_path / "kept" / "s.jsonl.gz")) == 5
    assert {r["_drop_reason"] for r in read_shard(tmp_path / "rej" / "s.jsonl.gz")} == {"seg_edit_dist"}

    assert (
        run(
            ["sample", str(tmp_path / "kept"), "-o", str(tmp_path / "mix"), "--hours", "0.03", "--seed", "1", "-w", "1"]
        )
        == 0
    )
    assert "sampled 3 records, 0.025 h" in capsys.readouterr().out
    assert run(["sample", str(tmp_path / "segs"), "--stats", "seg_edit_dist"]) == 0
    out = capsys.readouterr().out
    assert "│        100 │   0.9 │" in out and "│         50 │   0.4 │" in out and "│         51 │" not in out
    assert "10 records, 0 without a value, 10 numbers (exact)" in out
    assert run(["sample", str(tmp_path / "segs"), "--stats", "seg_edit_dist", "--full"]) == 0
    assert "│         51 │   0.5 │" in capsys.readouterr().out
    assert run(["sample", str(tmp_path / "segs"), "--stats", "casing"]) == 0
    assert "│ mixed │      10 │      100.00% │" in capsys.readouterr().out


def test_filter_output_names_the_config_file_and_why_records_went(tmp_path, capsys):
    good = {"audio_lang": "en", "text_lang": "en", "casing": "mixed", "repeating_lines": False, "seg_edit_dist": 0.1}
    segments = [
        seg("a_0", "Hello.", **good, edit_dist=0.1),
        seg("b_0", "Hello.", **good, edit_dist=0.9),  # out of range
        seg("c_0", "Hello.", **good, edit_dist=None),  # no machine transcript
        seg("d_0", "Hello.", **{**good, "casing": "upper"}, edit_dist=0.1),
    ]
    write_shard(tmp_path / "segs" / "s.jsonl", segments)
    # four of the original's filter YAMLs say `name: mixed_no_repeats_lang_eq`; the title names the file
    argv = ["filter", str(tmp_path / "segs"), "-w", "1", "-q", "-c", "mixed_lang_eq", "-o", str(tmp_path / "m")]
    assert run(argv) == 0
    assert "filter · mixed_lang_eq" in capsys.readouterr().out

    argv = ["filter", str(tmp_path / "segs"), "-w", "1", "-q", "-c", "seg_edit_dist_0.4_edit_dist_0.4"]
    assert run([*argv, "-o", str(tmp_path / "drop")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "dropped (value failed the step): edit_dist: 1" in lines
    assert "dropped (no value, absent or null): missing:edit_dist: 1" in lines
    assert "records without a value are kept with --missing pass" in lines
    assert run([*argv, "-o", str(tmp_path / "pass"), "--missing", "pass"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "dropped (value failed the step): edit_dist: 1" in lines and not any("no value" in ln for ln in lines)
    assert [r["seg_id"] for r in read_shard(tmp_path / "pass" / "s.jsonl")] == ["a_0", "c_0", "d_0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tag", "doc", "{tmp}/nowhere", "-o", "{tmp}/o"], "nowhere: no such file or directory"),
        (["tag", "doc", "{tmp}", "-o", "{tmp}/o", "-c", "nope"], "nope: no such file or shipped tagging config"),
        (["tag", "doc", "{tmp}/empty", "-o", "{tmp}/o"], "no JSONL files"),
        (
            ["filter", "{tmp}", "-o", "{tmp}/o", "-c", "{tmp}/bad.yaml"],
            "bad.yaml: pipeline[0] (tag: casing): unknown key",
        ),
        (["filter", "{tmp}/empty", "-o", "{tmp}/o", "--missing", "maybe"], "--missing must be one of drop, pass"),
        (["sample", "{tmp}/empty", "-o", "{tmp}/o"], "exactly one of --hours or --count"),
        (["sample", "{tmp}/empty"], "give -o/--output"),
        (["sample", "{tmp}/empty", "--stats", "edit_dst"], "no record has a field `edit_dst` (fields there: "),
        (["sample", "{tmp}/empty", "-o", "{tmp}/o", "--count", "1", "--full"], "--full goes with --stats"),
        (["tag", "seg", "{tmp}", "-o", "{tmp}/inside"], "must not be inside the input directory"),
        (["tag", "doc", "{tmp}/empty", "-o", "{tmp}/o"], "x.jsonl: holds segment records, not documents; tag seg"),
        (["tag", "seg", "{tmp}/docs", "-o", "{tmp}/o"], "d.jsonl: holds document records, not segments; tag doc"),
        (["filter", "{tmp}/empty", "-o", "{tmp}/o", "--rejects", "{tmp}/o/rej"], "must be apart from the output"),
    ],
)
def test_one_line_errors(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    write_shard(tmp_path / "empty" / "x.jsonl", [seg("a_0", "Hi.")])  # for --missing / sample checks
    write_shard(tmp_path / "docs" / "d.jsonl", [doc("a", "Hi.")])
    (tmp_path / "bad.yaml").write_text("name: bad\npipeline:\n  - tag: casing\n    ref_valu: mixed\n")
    if message == "no JSONL files":
        (tmp_path / "empty" / "x.jsonl").unlink()
    code = run([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
