"""End to end with a random-weight micro model on generated speech, through every local input path.

The reported numbers must equal a hand computation (jiwer over the normalised hypotheses the run wrote),
and the same audio must score the same through a Hub-format parquet folder, a `save_to_disk` copy, a
registry set's local copy under --data-root, and a JSONL manifest.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jiwer
import pytest
from rich.console import Console

from olmoasr.evaluation import DecodeSettings, EvalOptions, evaluate
from olmoasr.evaluation.report import load_report, results_table
from olmoasr.text import normalize_english

from .helpers import write_hub_parquet

pytest.importorskip("datasets")

SETTINGS = DecodeSettings(sample_len=6)  # random weights never stop on their own: cap the tokens per clip


def _options(out: Path | None, warmup: bool = False, **kw) -> EvalOptions:
    return EvalOptions(batch_size=2, output_dir=str(out) if out else None, decode=SETTINGS, warmup=warmup, **kw)


@pytest.fixture(scope="module")
def parquet_dir(speech_clips, tmp_path_factory):
    rows = [{"audio": path, "text": text, "id": f"utt{i}"} for i, (path, text) in enumerate(speech_clips)]
    rows.insert(2, {"audio": speech_clips[0][0], "text": "(laughter)", "id": "only-noise"})
    rows.append({"audio": b"RIFF not really a wav file", "text": "broken audio", "id": "corrupt"})
    return write_hub_parquet(tmp_path_factory.mktemp("hubfmt"), rows)


@pytest.fixture(scope="module")
def parquet_run(micro_model, parquet_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    report = evaluate(micro_model, dataset_dirs=[parquet_dir], options=_options(out, warmup=True), show_progress=False)
    return report, out


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_reported_wer_equals_hand_computation_with_jiwer(parquet_run, speech_clips):
    report, out = parquet_run
    result = report.sets[0]
    assert result.status == "ok"
    assert (result.rows, result.scored, result.failed, result.skipped) == (7, 5, 1, {"empty_reference": 1})
    scored = [r for r in _rows(result.utterances_file) if r["status"] == "scored"]
    assert [r["reference"] for r in scored] == [text for _, text in speech_clips]
    assert any(r["hypothesis"] for r in scored)

    refs = [normalize_english(r["reference"]) for r in scored]
    hyps = [normalize_english(r["hypothesis"]) for r in scored]
    assert [r["hypothesis_normalized"] for r in scored] == hyps
    hand = jiwer.process_words(refs, hyps)
    assert result.wer == pytest.approx(100 * hand.wer, abs=1e-3)
    assert (result.substitutions, result.deletions, result.insertions, result.hits) == (
        hand.substitutions,
        hand.deletions,
        hand.insertions,
        hand.hits,
    )
    assert result.ci_low <= result.wer <= result.ci_high
    total_audio = sum(r["duration_s"] for r in scored)
    assert result.audio_seconds == pytest.approx(total_audio, abs=0.01)
    assert result.rtfx == pytest.approx(result.audio_seconds / result.inference_seconds, rel=0.02)


def test_result_files(parquet_run):
    report, out = parquet_run
    saved = load_report(out / "results.json")
    assert saved.sets[0].wer == report.sets[0].wer and saved.device == "cpu" and saved.batch_size == 2
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and float(rows[0]["wer"]) == pytest.approx(report.sets[0].wer)
    assert (out / "wer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    statuses = [r["status"] for r in _rows(report.sets[0].utterances_file)]
    assert sorted(statuses) == ["failed", "scored", "scored", "scored", "scored", "scored", "skipped"]


def test_same_numbers_from_save_to_disk_data_root_copy_and_manifest(micro_model, parquet_run, parquet_dir, tmp_path,
                                                                     speech_clips):  # fmt: skip
    import datasets

    expected = parquet_run[0].sets[0]
    on_disk = tmp_path / "disk"
    datasets.load_dataset(str(parquet_dir), split="test").save_to_disk(str(on_disk))
    root = tmp_path / "root"
    write_hub_parquet(root / "librispeech_clean", [{"audio": p, "text": t} for p, t in speech_clips])
    manifest = tmp_path / "pairs.jsonl"
    manifest.write_text("".join(json.dumps({"audio": str(p), "text": t}) + "\n" for p, t in speech_clips))

    report = evaluate(
        micro_model,
        sets="librispeech_clean",
        dataset_dirs=[on_disk],
        manifests=[manifest],
        options=_options(None, data_root=str(root)),
        model_name="tiny",  # a paper model name: its published figure is shown beside ours
        show_progress=False,
    )
    assert [r.name for r in report.sets] == ["librispeech_clean", "pairs", "disk"]
    assert [r.published_wer for r in report.sets] == [5.1, None, None]
    console = Console(record=True, width=200)
    console.print(results_table(report))
    shown = console.export_text()
    assert "paper" in shown and "5.1" in shown
    for result in report.sets:
        assert result.status == "ok", result.error
        assert result.scored == 5
        assert (result.wer, result.substitutions, result.deletions, result.insertions) == (
            expected.wer,
            expected.substitutions,
            expected.deletions,
            expected.insertions,
        )
    assert "local copy" in report.sets[0].source


def test_limit_and_one_failed_set_among_good_ones(micro_model, parquet_dir):
    report = evaluate(
        micro_model,
        sets="wsj",
        dataset_dirs=[parquet_dir],
        options=_options(None, limit=3),
        show_progress=False,
    )
    wsj, local = report.sets
    assert wsj.status == "error" and "--data-root" in wsj.error
    assert local.rows == 3 and local.scored == 2 and local.skipped == {"empty_reference": 1}


def test_compare_two_result_files(parquet_run, tmp_path, capsys):
    from olmoasr.cli.main import run

    report, out = parquet_run
    other = tmp_path / "other"
    other.mkdir()
    data = json.loads((out / "results.json").read_text())
    data["model"] = "another-model"
    data["sets"][0]["wer"] = 12.5
    (other / "results.json").write_text(json.dumps(data))
    chart = tmp_path / "chart.png"
    assert run(["eval", "--compare", str(out / "results.json"), str(other), "-o", str(chart)]) == 0
    printed = capsys.readouterr().out
    assert "another-model" in printed and "12.50" in printed and f"{report.sets[0].wer:.2f}" in printed
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_compare_rejects_a_file_that_is_not_results(tmp_path, capsys):
    from olmoasr.cli.main import run

    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    assert run(["eval", "--compare", str(bad), "-o", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a results.json" in err and "\n" not in err


def test_long_form_set_from_a_local_copy_uses_long_form_transcription(micro_model, speech_clips, tmp_path):
    import numpy as np

    from olmoasr.audio import load_audio, write_audio
    from olmoasr.model.transcribe import transcribe

    halves = [speech_clips[:3], speech_clips[3:]]
    rows = []
    for i, clips in enumerate(halves):
        samples = np.concatenate([load_audio(path) for path, _ in clips])
        write_audio(tmp_path / f"rec{i}.flac", samples)
        rows.append({"audio": tmp_path / f"rec{i}.flac", "text": " ".join(t for _, t in clips), "id": f"rec{i}"})
    write_hub_parquet(tmp_path / "root" / "long_meanwhile", rows)
    greedy = DecodeSettings(sample_len=6, long_beam_size=None, long_best_of=None, long_temperature=(0.0,))
    options = EvalOptions(data_root=str(tmp_path / "root"), output_dir=str(tmp_path / "out"), decode=greedy)
    (result,) = evaluate(micro_model, sets="long:meanwhile", options=options, show_progress=False).sets
    assert result.status == "ok" and result.form == "long" and result.scored == 2
    scored = _rows(result.utterances_file)
    direct = transcribe(
        micro_model, load_audio(rows[0]["audio"]), language="en", temperature=(0.0,), sample_len=6,
        condition_on_previous_text=False,
    )  # fmt: skip
    assert scored[0]["hypothesis"] == direct["text"].strip()
    hand = jiwer.process_words(
        [r["reference_normalized"] for r in scored], [r["hypothesis_normalized"] for r in scored]
    )
    assert result.wer == pytest.approx(100 * hand.wer, abs=1e-3)


def test_cli_with_a_saved_checkpoint_and_a_manifest(micro_model, speech_clips, parquet_run, tmp_path, capsys):
    import olmoasr
    from olmoasr.cli.main import run

    checkpoint = olmoasr.save_model(micro_model, tmp_path / "micro.pt", fmt="openai")
    manifest = tmp_path / "my_test.jsonl"
    manifest.write_text("".join(json.dumps({"audio": str(p), "text": t}) + "\n" for p, t in speech_clips))
    out = tmp_path / "results"
    argv = ["eval", "--model", str(checkpoint), "--manifest", str(manifest), "-o", str(out), "--batch-size", "2"]
    assert run([*argv, "--max-new-tokens", "6", "--device", "cpu", "--engine", "torch", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "WER %" in printed and "RTFx" in printed
    saved = load_report(out)
    assert saved.sets[0].name == "my_test"
    assert saved.model == str(checkpoint) and saved.dtype == "float32" and saved.engine == "torch"
    assert saved.sets[0].wer == parquet_run[0].sets[0].wer  # same weights, same audio, same numbers
    assert (out / "my_test.utterances.jsonl").is_file() and (out / "wer.png").is_file()
