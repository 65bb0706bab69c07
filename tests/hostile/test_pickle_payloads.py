"""Class 1: pickled code in every file a command loads. Nothing runs; each is refused in one line."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch

from olmoasr.errors import InputError
from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper

from .conftest import Payload, expect_one_line, record, write_wav
from .train_run import TRAIN_FLAGS, with_payload

DIMS = ModelDimensions(80, 20, 64, 4, 2, 51864, 32, 64, 4, 3)


def release_payload(path, marker, legacy=False):
    """A release-format checkpoint (dims + weights) that also carries a payload."""
    torch.manual_seed(0)
    state = Whisper(DIMS).state_dict()
    torch.save({"dims": DIMS.to_dict(), "model_state_dict": state, "x": Payload(marker)}, path,
               _use_new_zipfile_serialization=not legacy)  # fmt: skip
    return path


@pytest.mark.parametrize("layout", ["zip", "legacy", "plain-pickle", "hf-folder"])
def test_load_model_refuses_every_payload_layout(tmp_path, marker, layout):
    from olmoasr.model.checkpoints import load_model

    if layout == "plain-pickle":
        path = tmp_path / "model.pt"
        path.write_bytes(pickle.dumps({"model_state_dict": Payload(marker)}))
    elif layout == "hf-folder":
        from olmoasr.model.checkpoint_formats.hf_transformers import config_for
        from olmoasr.model.tokenizer import get_tokenizer

        path = tmp_path / "hf"
        path.mkdir()
        (path / "config.json").write_text(json.dumps(config_for(DIMS, get_tokenizer(multilingual=False))))
        torch.save({"model.encoder.conv1.weight": torch.zeros(1), "x": Payload(marker)}, path / "pytorch_model.bin")
    else:
        path = release_payload(tmp_path / "model.pt", marker, legacy=layout == "legacy")
    with pytest.raises(InputError) as err:
        load_model(path, device="cpu")
    message = str(err.value)
    handled = str(path) in message and "refusing to unpickle" in message and "\n" not in message
    record(f"pickle payload: load_model ({layout})", handled=handled and not marker.exists())
    assert handled, message
    assert "weights_only=False" not in message  # never advise the unsafe load


def test_transcribe_refuses_a_payload_model(tmp_path, cli, marker):
    payload = release_payload(tmp_path / "model.pt", marker)
    outcome = cli("transcribe", write_wav(tmp_path / "a.wav"), "--model", payload, "-o", tmp_path / "out")
    expect_one_line("pickle payload: transcribe --model", outcome, naming=payload, says="refusing to unpickle")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_convert_refuses_a_payload_and_writes_nothing(tmp_path, cli, marker):
    payload = release_payload(tmp_path / "model.pt", marker)
    outcome = cli("convert", payload, tmp_path / "out.safetensors", "-f", "safetensors")
    expect_one_line("pickle payload: convert", outcome, naming=payload, says="refusing to unpickle")
    assert not (tmp_path / "out.safetensors").exists()


def test_eval_refuses_a_payload_model(tmp_path, cli, marker):
    payload = release_payload(tmp_path / "model.pt", marker)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": str(write_wav(tmp_path / "a.wav")), "text": "a"}) + "\n")
    outcome = cli("eval", "--model", payload, "--manifest", manifest, "-o", tmp_path / "results")
    expect_one_line("pickle payload: eval --model", outcome, naming=payload, says="refusing to unpickle")


def test_train_init_from_refuses_a_payload(tmp_path, cli, marker, trained_run):
    payload = release_payload(tmp_path / "model.pt", marker)
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", tmp_path / "run", "--init-from", payload)
    expect_one_line("pickle payload: train --init-from", outcome, naming=payload, says="refusing to unpickle")


@pytest.mark.parametrize("target", ["model.pt", "optim.pt"])
def test_train_resume_refuses_a_payload_in_a_checkpoint(tmp_path, cli, marker, trained_run, target):
    run_dir = tmp_path / "copied-run"
    shutil.copytree(trained_run.path, run_dir)
    newest = with_payload(run_dir / "checkpoints" / "step_00000002", target, Payload(marker))
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir, "--resume", newest)
    expect_one_line(f"pickle payload: train --resume ({target})", outcome, naming=newest / target,
                    says="refusing to unpickle")  # fmt: skip


def test_auto_resume_in_a_copied_run_folder_refuses_a_payload(tmp_path, cli, marker, trained_run):
    run_dir = tmp_path / "copied-run"
    shutil.copytree(trained_run.path, run_dir)
    newest = with_payload(run_dir / "checkpoints" / "step_00000002", "model.pt", Payload(marker))
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir, "--train_steps", "3")
    expect_one_line("pickle payload: train auto-resume", outcome, naming=newest / "model.pt",
                    says="refusing to unpickle")  # fmt: skip


def test_a_pickled_train_state_from_an_older_layout_is_never_loaded(tmp_path, cli, marker, trained_run):
    run_dir = tmp_path / "copied-run"
    shutil.copytree(trained_run.path, run_dir)
    newest = run_dir / "checkpoints" / "step_00000002"
    (newest / "train_state.json").unlink()
    torch.save({"step": 2, "x": Payload(marker)}, newest / "train_state.pt")
    meta = json.loads((newest / "meta.json").read_text())
    meta["files"] = sorted(p.name for p in newest.iterdir() if p.name != "meta.json")
    meta.pop("sizes")
    (newest / "meta.json").write_text(json.dumps(meta))
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir, "--resume", newest)
    expect_one_line("pickle payload: legacy train_state.pt", outcome, naming=newest, says="train_state.json")


def dcp_state(tmp_path):
    """A small model + AdamW state saved with DCP, and checked to load back."""
    from torch.distributed.checkpoint.state_dict import get_state_dict

    from olmoasr.train import safe_dcp

    model = torch.nn.Linear(3, 4)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(2, 3)).sum().backward()
    optimizer.step()
    state = dict(zip(("model", "optim"), get_state_dict(model, optimizer), strict=True))
    good = tmp_path / "dcp"
    with pytest.warns(UserWarning):  # DCP notes it runs without a process group
        safe_dcp.save(state, good)
    with pytest.warns(UserWarning):
        safe_dcp.load(state, good)  # an honest checkpoint loads
    return state, good


def test_fsdp_checkpoint_index_with_a_payload_is_refused(tmp_path, marker):
    from olmoasr.errors import UsageError
    from olmoasr.train import safe_dcp

    state, good = dcp_state(tmp_path)
    index = pickle.loads((good / ".metadata").read_bytes())
    index.planner_data = Payload(marker)
    bad = tmp_path / "bad-dcp"
    shutil.copytree(good, bad)
    (bad / ".metadata").write_bytes(pickle.dumps(index))
    with pytest.raises(UsageError) as err:
        safe_dcp.load(state, bad)
    handled = str(bad / ".metadata") in str(err.value) and "refusing to unpickle" in str(err.value)
    record("pickle payload: FSDP .metadata", handled=handled and not marker.exists())
    assert handled, str(err.value)


def test_fsdp_checkpoint_byte_value_with_a_payload_is_refused(marker):
    import io

    from torch.distributed.checkpoint.metadata import MetadataIndex
    from torch.distributed.checkpoint.planner import LoadItemType, ReadItem

    from olmoasr.errors import UsageError
    from olmoasr.train import safe_dcp

    value = io.BytesIO()
    torch.save(Payload(marker), value)
    value.seek(0)
    item = ReadItem(LoadItemType.BYTE_IO, MetadataIndex("optim.x"), torch.Size([0]), MetadataIndex("optim.x"),
                    torch.Size([0]), torch.Size([0]))  # fmt: skip
    with pytest.raises(UsageError) as err:
        safe_dcp.WeightsOnlyLoadPlanner().load_bytes(item, value)
    handled = "optim.x" in str(err.value) and "io.open" in str(err.value)
    record("pickle payload: FSDP byte value", handled=handled and not marker.exists())
    assert handled, str(err.value)
