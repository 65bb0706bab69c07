"""Offline is fast and quiet: the Hub is judged once per process (HF_HUB_OFFLINE, else one probe), no download
is retried, and each command's one error line names its own offline alternative."""

from __future__ import annotations

import logging

import pytest

from olmoasr.cli.main import run
from olmoasr.errors import HubOfflineError, ModelOfflineError
from olmoasr.io import hub_access
from olmoasr.model import hub
from olmoasr.model.checkpoints import load_model


@pytest.fixture
def probes(monkeypatch) -> list[str]:
    """Every probe the code makes, answered 'unreachable'."""
    calls: list[str] = []

    def probe(endpoint: str, timeout: float = hub_access.PROBE_TIMEOUT_S) -> bool:
        calls.append(endpoint)
        return False

    monkeypatch.setattr(hub_access, "probe", probe)
    return calls


@pytest.fixture
def unplugged(monkeypatch, probes):
    """HF_HUB_OFFLINE unset and huggingface_hub / datasets not in offline mode, with every HTTP request sent to a
    closed local port: a request made anyway fails (and would be retried) without reaching any network."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        import datasets.config
    except ImportError:
        pass
    else:
        monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    huggingface_hub.close_session()  # the next client reads the proxy settings
    yield probes
    huggingface_hub.close_session()


def test_hf_hub_offline_is_honoured_without_a_probe(probes, tmp_path):
    with pytest.raises(ModelOfflineError) as err:
        load_model("small", download_root=tmp_path)
    assert probes == []
    message = str(err.value)
    assert "HF_HUB_OFFLINE is set; unset it to download" in message and "tiny.en-offline" in message
    assert "HF_HUB_OFFLINE=0" not in message and "\n" not in message


def test_an_unreachable_hub_is_probed_once_and_nothing_is_retried(unplugged, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    for name in ("small", "tiny", "someone/whisper-micro"):
        with pytest.raises(ModelOfflineError, match="the Hugging Face Hub is unreachable"):
            load_model(name, download_root=tmp_path)
    from olmoasr.pipeline.lang_id.speechbrain_format import resolve_model_dir

    with pytest.raises(HubOfflineError, match="--backend whisper-en"):
        resolve_model_dir(None)
    assert len(unplugged) == 1
    assert "Retrying" not in caplog.text and "thrown while requesting" not in caplog.text

    from huggingface_hub import constants

    assert constants.is_offline_mode()  # the rest of the process reads only the cache


def test_an_unreachable_hub_fails_an_eval_set_at_once(unplugged, caplog):
    pytest.importorskip("datasets")
    from olmoasr.evaluation import get_set
    from olmoasr.evaluation.sources import DataOptions, open_eval_set

    caplog.set_level(logging.WARNING)
    with pytest.raises(HubOfflineError) as err:
        open_eval_set(get_set("librispeech_clean"), DataOptions(streaming=True))
    assert len(unplugged) == 1
    assert "Retrying" not in caplog.text
    message = str(err.value)
    assert message.startswith("librispeech_clean: cannot load openslr/librispeech_asr")
    assert "unreachable" in message and "--data-root" in message and "HF_HUB_OFFLINE" not in message


def test_the_default_model_falls_back_after_the_one_probe(unplugged, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(hub, "offline_model_path", lambda: tmp_path)
    assert hub.default_model_name("small", download_root=tmp_path) == hub.OFFLINE_MODEL
    assert hub.default_model_name("small", download_root=tmp_path) == hub.OFFLINE_MODEL
    assert len(unplugged) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "the Hugging Face Hub is unreachable" in err[0] and "tiny.en-offline" in err[0]


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_train_names_init_from_tiny_en_offline(tmp_path, capsys):
    (tmp_path / "mix").mkdir()
    (tmp_path / "mix" / "part.jsonl").write_text('{"id": "x"}\n')
    argv = ["train", "--config", "micro", "--data", str(tmp_path / "mix"), "--out", str(tmp_path / "run")]
    assert run([*argv, "--init-from", "tiny"]) == 1
    lines = _error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: cannot fetch allenai/OLMoASR")
    assert "use --init-from tiny.en-offline" in lines[0]


def test_eval_and_transcribe_name_model_tiny_en_offline(tmp_path, capsys):
    pytest.importorskip("datasets")
    assert run(["eval", "--model", "tiny", "--sets", "librispeech_clean", "-q", "-o", str(tmp_path)]) == 1
    lines = _error_lines(capsys)
    assert len(lines) == 1 and "use --model tiny.en-offline" in lines[0]
    (tmp_path / "a.wav").write_bytes(b"")
    assert run(["transcribe", str(tmp_path / "a.wav"), "--model", "base", "-o", str(tmp_path)]) == 1
    lines = _error_lines(capsys)
    assert len(lines) == 1 and "use --model tiny.en-offline" in lines[0]
