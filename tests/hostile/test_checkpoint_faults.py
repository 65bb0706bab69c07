"""Classes 5 and 7 (checkpoints): damaged newest checkpoint, disk full while saving, absurd dims, and
destinations that cannot take the output. One line each, the previous complete checkpoint kept."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch

from olmoasr.model.checkpoints import save_model
from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper

from .conftest import expect_one_line, files_under, record, write_wav
from .train_run import TRAIN_FLAGS

DIMS = ModelDimensions(80, 20, 64, 4, 2, 51864, 32, 64, 4, 3)


def copied_run(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.path, run_dir)
    return run_dir, run_dir / "checkpoints"


@pytest.mark.parametrize("damage", ["missing model.pt", "truncated optim.pt"])
def test_auto_resume_skips_a_damaged_newest_checkpoint(tmp_path, cli, trained_run, damage):
    run_dir, ckpts = copied_run(trained_run, tmp_path)
    if damage == "missing model.pt":
        (ckpts / "step_00000002" / "model.pt").unlink()
    else:
        with open(ckpts / "step_00000002" / "optim.pt", "r+b") as fh:
            fh.truncate(1000)
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir, "--train_steps", "3")
    skipped = [line for line in outcome.warning_lines if "damaged" in line]
    handled = (outcome.code == 0 and outcome.traceback is None and len(skipped) == 1
               and "step_00000002" in skipped[0] and "resuming from" in skipped[0]
               and str(ckpts / "step_00000001") in skipped[0])  # fmt: skip
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    resumed_at_1 = [m["step"] for m in metrics][-2:] == [2, 3]
    record(f"damaged checkpoint: auto-resume ({damage})", outcome, handled=handled and resumed_at_1)
    assert handled, outcome.err[-2000:]
    assert resumed_at_1  # steps 2 and 3 were trained again from the step-1 checkpoint


def test_explicit_resume_of_a_damaged_checkpoint_is_one_line(tmp_path, cli, trained_run):
    run_dir, ckpts = copied_run(trained_run, tmp_path)
    (ckpts / "step_00000002" / "train_state.json").unlink()
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir,
                  "--resume", ckpts / "step_00000002")  # fmt: skip
    expect_one_line("damaged checkpoint: --resume DIR", outcome, naming=ckpts / "step_00000002",
                    says="train_state.json is missing")  # fmt: skip


def test_no_intact_checkpoint_left_is_one_line_not_a_silent_fresh_start(tmp_path, cli, trained_run):
    run_dir, ckpts = copied_run(trained_run, tmp_path)
    for step in ("step_00000001", "step_00000002"):
        (ckpts / step / "model.pt").unlink()
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir)
    expect_one_line("damaged checkpoint: none intact", outcome, naming=ckpts, says="--resume never")


DISK_FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like ENOSPC
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from olmoasr.cli.main import run
sys.exit(run(sys.argv[2:]))
"""


def test_disk_full_while_saving_a_checkpoint_is_one_line_and_keeps_the_previous_ones(tmp_path, trained_run):
    run_dir, ckpts = copied_run(trained_run, tmp_path)
    before = files_under(ckpts)
    model_bytes = before["step_00000002/model.pt"]  # optim.pt is twice as large: it is the write that fails
    argv = ["train", *TRAIN_FLAGS, "--data", str(trained_run.data), "--out", str(run_dir), "--train_steps", "3"]
    proc = subprocess.run([sys.executable, "-c", DISK_FULL, str(model_bytes + 4096), *argv], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=600)  # fmt: skip
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    kept = {k: v for k, v in files_under(ckpts).items() if k.startswith(("step_00000001/", "step_00000002/"))}
    handled = (proc.returncode == 1 and "Traceback" not in proc.stderr and len(errors) == 1
               and "step_00000003" in errors[0] and "could not write checkpoint" in errors[0])  # fmt: skip
    lost = kept != before or any(".tmp-" in name or name.startswith("step_00000003") for name in files_under(ckpts))
    record("disk full while saving a checkpoint", handled=handled, data_lost=lost, traceback="Traceback" in proc.stderr)
    assert handled, proc.stderr[-3000:]
    assert not lost, files_under(ckpts)


def save_with_dims(path, dims: dict, state_from=DIMS):
    torch.manual_seed(0)
    torch.save({"dims": dims, "model_state_dict": Whisper(state_from).state_dict()}, path)
    return path


@pytest.mark.parametrize(
    "dims",
    [
        {**DIMS.to_dict(), "n_audio_ctx": 10**9, "n_audio_state": 768000, "n_text_state": 768000},  # ~3 TB
        {**DIMS.to_dict(), "n_text_layer": 10**7},
        {**DIMS.to_dict(), "n_vocab": 10**6},
        {**DIMS.to_dict(), "n_mels": "many"},
    ],
    ids=["3TB-audio-ctx", "ten-million-layers", "vocab-vs-embedding", "non-numeric"],
)
def test_absurd_dims_are_refused_before_anything_is_allocated(tmp_path, cli, dims):
    path = save_with_dims(tmp_path / "model.pt", dims)
    started = time.process_time()
    outcome = cli("transcribe", write_wav(tmp_path / "a.wav"), "--model", path, "-o", tmp_path / "out")
    line = expect_one_line(f"absurd dims: {sorted(set(dims.items()) - set(DIMS.to_dict().items()))}", outcome,
                           naming=path)  # fmt: skip
    assert time.process_time() - started < 30, line


def test_hf_folder_with_a_pickled_weights_file_is_one_line(tmp_path, cli):
    model = Whisper(DIMS)
    folder = save_model(model, tmp_path / "hf", "hf")
    (folder / "model.safetensors").unlink()
    torch.save({"x": torch.nn.Linear(2, 2)}, folder / "pytorch_model.bin")  # a pickled module, not weights
    outcome = cli("convert", folder, tmp_path / "out.pt")
    expect_one_line("hf folder: pickled pytorch_model.bin", outcome, naming=folder, says="refusing to unpickle")
    assert "weights_only=False" not in outcome.err


@pytest.mark.parametrize(
    ("fmt", "existing"),
    [("openai", "folder"), ("safetensors", "folder"), ("hf", "file"), ("ctranslate2", "file"), ("openai", "file")],
)
def test_convert_onto_an_existing_destination_is_refused_before_work(tmp_path, cli, fmt, existing):
    source = save_model(Whisper(DIMS), tmp_path / "model.pt")
    destination = tmp_path / "dest"
    if existing == "folder":
        destination.mkdir()
        (destination / "keep.txt").write_text("mine")
    else:
        destination.write_text("mine")
    before = files_under(tmp_path)
    outcome = cli("convert", source, destination, "-f", fmt)
    lost = files_under(tmp_path) != before
    expect_one_line(f"convert -f {fmt} onto an existing {existing}", outcome, naming=destination, data_lost=lost)


@pytest.mark.hostile_control
def test_convert_overwrite_replaces_a_file(tmp_path, cli):
    source = save_model(Whisper(DIMS), tmp_path / "model.pt")
    (tmp_path / "dest.pt").write_text("old")
    outcome = cli("convert", source, tmp_path / "dest.pt", "--overwrite")
    assert outcome.code == 0, outcome.err
    assert (tmp_path / "dest.pt").stat().st_size > 1000


def test_transcribe_output_dir_that_is_a_file_fails_before_any_work(tmp_path, cli):
    model = save_model(Whisper(DIMS), tmp_path / "model.pt")
    target = tmp_path / "transcripts"
    target.write_text("an existing file")
    inputs = [write_wav(tmp_path / f"{i}.wav") for i in range(2)]
    started = time.process_time()
    outcome = cli("transcribe", *inputs, "--model", model, "-o", target, "-f", "txt")
    expect_one_line("transcribe -o an existing file", outcome, naming=target, says="is a file",
                    data_lost=target.read_text() != "an existing file")  # fmt: skip
    assert "transcribed" not in outcome.err  # stopped before the first input
    assert time.process_time() - started < 10
