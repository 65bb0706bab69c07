"""Class 4: records of the wrong shape at a stage boundary (`train`, `tag lang`): skipped, counted, one
line each; the job goes on; `--quiet` never hides a failure."""

from __future__ import annotations

import gzip
import json

import pytest

from olmoasr.model.checkpoints import save_model
from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper

from .conftest import expect_one_line, record

BAD = {
    "seg_content of the wrong type": ("seg_content", 123),
    "negative audio_nbytes": ("audio_nbytes", -5),
    "audio_nbytes of 1 PB": ("audio_nbytes", 10**15),
    "audio_offset past the container": ("audio_offset", 10**12),
}


def damaged_mix(tmp_path, kinds=tuple(BAD), n=8):
    """A mix whose records 1, 3, 5, ... (1-based lines) carry one damage each, in the order of `kinds`."""
    from ..train.conftest import make_mix

    data = make_mix(tmp_path, n=n, files=1)
    shard = data / "part-000.jsonl"
    lines = [json.loads(line) for line in shard.read_text().splitlines()]
    for i, kind in enumerate(kinds):
        field, value = BAD[kind]
        lines[2 * i][field] = value
    shard.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return data


@pytest.mark.parametrize("kind", list(BAD))
def test_train_skips_and_counts_a_record_of_the_wrong_shape(tmp_path, kind):
    from olmoasr.train import load_config, train

    from ..train.conftest import micro_overrides

    data = damaged_mix(tmp_path, [kind])
    result = train(load_config("micro", micro_overrides(data, tmp_path / "run", train_steps=1, train_batch_size=4,
                                                        eff_batch_size=4)))  # fmt: skip
    handled = result.steps == 1 and sum(result.skipped.values()) == 1
    record(f"bad record in train: {kind}", handled=handled)
    assert handled, result.skipped
    assert all(line != 1 for _, (_, line) in result.samples_seen)  # the damaged record is line 1


@pytest.fixture
def whisper_lid(tmp_path):
    dims = ModelDimensions(80, 1500, 16, 2, 1, 51864, 64, 16, 2, 1)
    return save_model(Whisper(dims), tmp_path / "lid.pt")


def read_lines(path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()


def tag_lang(segs, out, model, *extra):
    return ["tag", "lang", segs, "-o", out, "--backend", "whisper-en", "--model", model, "--device", "cpu",
            "--workers", "1", "-q", *extra]  # fmt: skip


@pytest.mark.parametrize("kind", list(BAD))
def test_tag_lang_skips_a_bad_record_instead_of_failing_the_shard(tmp_path, cli, whisper_lid, kind):
    data = damaged_mix(tmp_path, [kind])
    outcome = cli(*tag_lang(data, tmp_path / "out", whisper_lid))
    written = [json.loads(line) for p in (tmp_path / "out").glob("*.jsonl*") for line in read_lines(p)]
    named = [line for line in outcome.warning_lines if "part-000.jsonl:1" in line]
    summary = json.loads((tmp_path / "out" / "audio_lang_summary.json").read_text())
    counted = sum(summary["segments_audio_error"].values()) == 1
    handled = outcome.code == 0 and len(written) == 8 and len(named) == 1 and counted and outcome.traceback is None
    record(f"bad record in tag lang: {kind}", outcome, handled=handled, data_lost=len(written) < 8)
    assert handled, (outcome.code, outcome.err[-3000:], len(written), summary)


def test_a_failed_shard_is_reported_even_with_quiet(tmp_path, cli, whisper_lid, monkeypatch):
    from olmoasr.pipeline.lang_id import stages

    from ..train.conftest import make_mix

    class BrokenDevice:
        def classify(self, waves):
            raise RuntimeError("the accelerator went away")

    monkeypatch.setattr(stages, "get_classifier", lambda *args, **kwargs: BrokenDevice())
    segs = make_mix(tmp_path, n=4, files=1)
    outcome = cli(*tag_lang(segs, tmp_path / "out", whisper_lid))
    failed = [line for line in outcome.err.splitlines() if line.startswith("failed:")]
    handled = (outcome.code == 1 and len(outcome.error_lines) == 1 and len(failed) == 1
               and "part-000" in failed[0] and "accelerator went away" in failed[0])  # fmt: skip
    record("tag lang -q: a failed shard is still reported", outcome, handled=handled)
    assert handled, (outcome.code, outcome.err, repr(outcome.traceback))


def test_a_folder_where_a_state_file_belongs_is_one_line(tmp_path, cli, whisper_lid):
    from olmoasr.pipeline.lang_id.stages import votes_path

    from ..train.conftest import make_mix

    segs = make_mix(tmp_path, n=4, files=1)
    blocker = votes_path(tmp_path / "out", "part-000")
    blocker.mkdir(parents=True)
    outcome = cli(*tag_lang(segs, tmp_path / "out", whisper_lid))
    expect_one_line("tag lang: a folder in place of a state file", outcome, naming=blocker, says="directory")
