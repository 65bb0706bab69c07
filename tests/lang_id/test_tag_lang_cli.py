"""`olmoasr tag lang` through the real CLI entry point: output, summary, and one-line errors."""

from __future__ import annotations

import pytest

from olmoasr.cli.main import run
from olmoasr.io import iter_jsonl

from .lid_helpers import segment, write_shard, write_tone


@pytest.fixture
def segs(tmp_path):
    audio = tmp_path / "audio"
    write_shard(
        tmp_path / "segs" / "shard_00000.jsonl.gz",
        [
            segment("doc1", 0, write_tone(audio / "a.flac", 300)),
            segment("doc1", 1, write_tone(audio / "b.flac", 600, seed=1)),
            segment("doc2", 0, write_tone(audio / "c.flac", 300, seed=2), text=""),
        ],
    )
    return tmp_path / "segs"


def test_cli_tags_segments_with_a_local_model(segs, tmp_path, micro_model_dir, capsys):
    out = tmp_path / "out"
    code = run(
        [
            "tag",
            "lang",
            str(segs),
            "-o",
            str(out),
            "--model",
            str(micro_model_dir),
            "--device",
            "cpu",
            "--workers",
            "1",
            "--batch-size",
            "2",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "audio language of 2 documents" in captured.out and "no result (null)" in captured.out
    records = [r for _, r in iter_jsonl(out / "shard_00000.jsonl.gz")]
    assert [r["seg_id"] for r in records] == ["doc1_0", "doc1_1", "doc2_0"]
    assert records[0]["audio_lang"] == records[1]["audio_lang"] in ("en", "de", "fr")
    assert records[2]["audio_lang"] is None
    assert (out / "audio_lang_summary.json").is_file()


def test_cli_offline_hub_model_is_one_clear_line(segs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    code = run(["tag", "lang", str(segs), "-o", str(tmp_path / "out"), "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot load the language-ID model 'speechbrain/lang-id-voxlingua107-ecapa'")
    assert "--model LOCAL_DIR" in lines[0] and "--backend whisper-en" in lines[0] and "`hf download" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "nope"], "--backend nope: choose from voxlingua107, whisper"),
        (["--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["--docs", "somewhere"], "--docs and --docs-out go together"),
        (["--model", "/no/such/dir"], "/no/such/dir: no such model directory"),
    ],
)
def test_cli_bad_options_are_one_line_errors(segs, tmp_path, capsys, args, message):
    code = run(["tag", "lang", str(segs), "-o", str(tmp_path / "out"), "--device", "cpu", *args])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and message in err, err


def test_cli_cuda_without_a_gpu_is_one_line(segs, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code = run(["tag", "lang", str(segs), "-o", str(tmp_path / "out"), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == "error: --device cuda: no CUDA device is available here (use cpu or auto)"
