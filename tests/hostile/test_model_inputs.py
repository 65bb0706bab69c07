"""Classes 1, 4 and 7, entry points the first cases did not reach: language-ID models carrying pickled code,
a transformers folder's pickled `pytorch_model.bin` handed to `transcribe`, a model that cannot decode
30 s windows, bad records through the `train` command, and a disk that fills (ENOSPC) while a checkpoint
is written. One line each, nothing executed, nothing half-written."""

from __future__ import annotations

import errno
import json
import shutil

import pytest
import torch

from olmoasr.model.checkpoints import save_model
from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper

from .conftest import Payload, expect_one_line, files_under, record, write_wav
from .train_run import TRAIN_FLAGS

DIMS = ModelDimensions(80, 20, 64, 4, 2, 51864, 32, 64, 4, 3)  # a 0.4 s encoder window: cannot decode 30 s


def tag_lang(segs, out, *extra):
    return ["tag", "lang", segs, "-o", out, "--device", "cpu", "--workers", "1", "-q", *extra]


@pytest.mark.parametrize("backend", ["voxlingua107", "whisper"])
def test_tag_lang_refuses_a_language_model_carrying_a_payload(tmp_path, cli, marker, backend):
    from ..train.conftest import make_mix

    segs = make_mix(tmp_path, n=4, files=1)
    if backend == "voxlingua107":
        from ..lang_id.conftest import build_micro_model, save_speechbrain_model

        model = save_speechbrain_model(build_micro_model(), tmp_path / "vox")
        bad = model / "embedding_model.ckpt"
        torch.save({"x": Payload(marker)}, bad)
    else:
        torch.manual_seed(0)
        dims = ModelDimensions(80, 1500, 16, 2, 1, 51865, 64, 16, 2, 1)
        model = bad = tmp_path / "lid.pt"
        torch.save({"dims": dims.to_dict(), "model_state_dict": Whisper(dims).state_dict(), "x": Payload(marker)},
                   bad)  # fmt: skip
    outcome = cli(*tag_lang(segs, tmp_path / "out", "--backend", backend, "--model", model))
    # whisper: refused once, before any work; voxlingua107 loads in the classify task: that shard's
    # `failed:` line names the file, then one `error:` line counts the failed tasks
    naming = [line for line in outcome.err.splitlines() if str(bad) in line]
    handled = (outcome.code == 1 and outcome.traceback is None and len(outcome.error_lines) == 1
               and len(naming) == 1 and "refusing to unpickle" in naming[0]
               and "weights_only=False" not in outcome.err and not marker.exists())  # fmt: skip
    record(f"pickle payload: tag lang --backend {backend} --model", outcome, handled=handled)
    assert handled, (outcome.code, outcome.err[-2000:])
    assert not list((tmp_path / "out").glob("*.jsonl*"))


def test_transcribe_refuses_a_transformers_folder_with_a_pickled_weights_file(tmp_path, cli, marker):
    folder = save_model(Whisper(DIMS), tmp_path / "hf", "hf")
    (folder / "model.safetensors").unlink()
    torch.save({"model.encoder.conv1.weight": torch.zeros(1), "x": Payload(marker)}, folder / "pytorch_model.bin")
    outcome = cli("transcribe", write_wav(tmp_path / "a.wav"), "--model", folder, "-o", tmp_path / "out",
                  "--engine", "torch")  # fmt: skip
    expect_one_line("hf folder: pickled pytorch_model.bin, transcribe", outcome, naming=folder,
                    says="refusing to unpickle")  # fmt: skip
    assert "weights_only=False" not in outcome.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("command", ["transcribe", "eval"])
def test_a_model_that_cannot_read_30_s_windows_is_one_line_before_any_audio(tmp_path, cli, command):
    """A micro run trained with `--dims.n_audio_ctx 150` exports a model whose encoder reads 3 s: decoding
    feeds it 30 s windows. Refused naming the model, not a traceback (eval) or one failure per file."""
    model = save_model(Whisper(DIMS), tmp_path / "short-window.pt")
    audio = [write_wav(tmp_path / f"{i}.wav") for i in range(3)]
    if command == "transcribe":
        argv = ["transcribe", *audio, "--model", model, "-o", tmp_path / "out", "-f", "txt", "--engine", "torch"]
    else:
        manifest = tmp_path / "m.jsonl"
        manifest.write_text("".join(json.dumps({"audio": str(a), "text": "a"}) + "\n" for a in audio))
        argv = ["eval", "--model", model, "--manifest", manifest, "-o", tmp_path / "out", "--engine", "torch", "-q"]
    outcome = cli(*argv)
    expect_one_line(f"model with a 0.4 s window: {command}", outcome, naming=model, says="n_audio_ctx 1500")


def test_train_command_skips_bad_records_names_them_and_counts_them(tmp_path, cli):
    from .test_bad_records import BAD, damaged_mix

    data = damaged_mix(tmp_path, list(BAD))
    shard = data / "part-000.jsonl"
    outcome = cli("train", *TRAIN_FLAGS, "--train_steps", "1", "--train_batch_size", "4", "--eff_batch_size", "4",
                  "--data", data, "--out", tmp_path / "run")  # fmt: skip
    named = {line.split(f"{shard}:")[1].split(":")[0] for line in outcome.warning_lines if f"{shard}:" in line}
    lines = [line for line in (outcome.out + outcome.err).splitlines() if "skipped" in line and "4" in line]
    handled = outcome.code == 0 and outcome.traceback is None and named == {"1", "3", "5", "7"} and bool(lines)
    record("bad records through the train command", outcome, handled=handled)
    assert handled, (outcome.code, named, outcome.out[-2000:], outcome.err[-3000:])


@pytest.mark.parametrize("failing", ["optim.pt", "meta.json"])
def test_enospc_while_saving_a_checkpoint_is_one_line_and_keeps_the_previous_ones(
    tmp_path, cli, trained_run, monkeypatch, failing
):
    """The disk fills half-way through a file (ENOSPC, not the EFBIG of a size limit): one line, the
    partial checkpoint removed, the earlier ones untouched."""
    from olmoasr.train import checkpointing

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.path, run_dir)
    ckpts = run_dir / "checkpoints"
    before = files_under(ckpts)

    def full(path, data: bytes):
        with open(path, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    if failing == "optim.pt":
        real_save = torch.save

        def save(obj, target, *args, **kwargs):
            if str(target).endswith("optim.pt"):
                import io

                buffer = io.BytesIO()
                real_save(obj, buffer)
                full(target, buffer.getvalue())
            return real_save(obj, target, *args, **kwargs)

        monkeypatch.setattr(checkpointing.torch, "save", save)
    else:
        monkeypatch.setattr(checkpointing, "write_metadata", lambda folder, meta: full(folder / "meta.json", b"{}"))
    outcome = cli("train", *TRAIN_FLAGS, "--data", trained_run.data, "--out", run_dir, "--train_steps", "3")
    after = files_under(ckpts)
    lost = {k: v for k, v in after.items() if k.startswith(("step_00000001/", "step_00000002/"))} != before or any(
        ".tmp-" in name or name.startswith("step_00000003") for name in after
    )
    expect_one_line(f"ENOSPC while saving a checkpoint ({failing})", outcome, naming="step_00000003",
                    says="No space left", data_lost=lost)  # fmt: skip
