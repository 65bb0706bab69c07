"""Hub names: offline failures are one clear line; cached files load through the real Hub-cache code path."""

from __future__ import annotations

import pytest
import torch

from olmoasr.errors import HubUnavailableError
from olmoasr.model import hub
from olmoasr.model.checkpoints import load_model, save_model


def test_names_map_to_the_olmoasr_repo_files():
    assert hub.OLMOASR_MODELS["tiny"] == "models/OLMoASR-tiny.en.pt"
    assert hub.OLMOASR_MODELS["medium"] == "models/OLMoASR-medium-v2.en.pt"
    assert hub.OLMOASR_MODELS["large-v2"] == hub.OLMOASR_MODELS["large.en-v2"] == "models/OLMoASR-large.en-v2.pt"
    assert hub.OLMOASR_MODELS["small.en"] == "models/OLMoASR-small.en.pt"


def test_offline_name_gives_one_clear_line(tmp_path):
    with pytest.raises(HubUnavailableError) as err:
        load_model("small", download_root=tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert "allenai/OLMoASR models/OLMoASR-small.en.pt" in message
    assert "HF_HUB_OFFLINE is set; unset it to download" in message and "tiny.en-offline" in message


def test_offline_repo_id_gives_one_clear_line(tmp_path):
    with pytest.raises(HubUnavailableError, match="cannot fetch openai/whisper-tiny: the Hugging Face Hub is off"):
        load_model("openai/whisper-tiny", download_root=tmp_path)


def _seed_hub_cache(cache: str, repo_id: str, filename: str) -> str:
    """Lay a file out exactly as huggingface_hub's cache does (refs/main -> snapshots/<commit>/<file>)."""
    from pathlib import Path

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    target = repo_dir / "snapshots" / commit / filename
    target.parent.mkdir(parents=True)
    return str(target)


def test_cached_name_loads_offline_through_the_hub_cache(make_model, tmp_path):
    model = make_model()
    target = _seed_hub_cache(str(tmp_path), hub.OLMOASR_REPO, hub.OLMOASR_MODELS["tiny"])
    save_model(model, target, "openai")
    loaded = load_model("tiny", device="cpu", download_root=tmp_path)
    assert loaded.dims == model.dims
    assert torch.equal(loaded.decoder.token_embedding.weight, model.decoder.token_embedding.weight)
    assert hub.default_model_name("tiny", download_root=tmp_path) == "tiny"


def test_cached_repo_snapshot_loads_offline(make_model, tmp_path):
    model = make_model()
    target = _seed_hub_cache(str(tmp_path), "someone/whisper-micro", "model.safetensors")
    save_model(model, target.rsplit("/", 1)[0], "hf")
    loaded = load_model("someone/whisper-micro", device="cpu", download_root=tmp_path)
    assert loaded.dims == model.dims


def test_default_model_falls_back_to_offline_weights(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(hub, "offline_model_path", lambda: tmp_path)
    assert hub.default_model_name("small", download_root=tmp_path) == hub.OFFLINE_MODEL
    assert "tiny.en" in capsys.readouterr().err
    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    assert hub.default_model_name("small", download_root=tmp_path) == "small"


def test_offline_model_name_without_the_package(monkeypatch):
    from olmoasr.errors import UsageError

    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    with pytest.raises(UsageError, match=r"olmoasr\[offline\]"):
        hub.resolve_model_path(hub.OFFLINE_MODEL)


def test_public_names_are_listed_and_load_model_defaults_like_the_cli(monkeypatch, tmp_path):
    import olmoasr

    public = {name for name in dir(olmoasr) if not name.startswith("_")}
    assert public == {"load_model", "save_model", "available_models"} and "__version__" in dir(olmoasr)
    assert {"load_model", "default_model_name", "Whisper"} <= set(dir(olmoasr.model))
    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    with pytest.raises(HubUnavailableError, match="OLMoASR-small.en.pt"):  # the CLI's default, OLMoASR small
        olmoasr.load_model(download_root=tmp_path)
