"""Test-wide settings: the Hub off (the suite never downloads; tests of the offline probe clear this), tiny
thread pools."""

from __future__ import annotations

import os
import shutil

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("WANDB_MODE", "disabled")

import pytest  # noqa: E402

LIBRIVOX_DIR = "/usr/share/pocketsphinx/test/data/librivox"  # Debian's pocketsphinx-testdata (public-domain LibriVox)


@pytest.fixture(autouse=True)
def _hub_status_per_test():
    """Each test decides Hub access afresh (it is decided once per process in real runs)."""
    from olmoasr.io.hub_access import forget_status

    forget_status()
    yield
    forget_status()


def have(program: str) -> bool:
    return shutil.which(program) is not None


@pytest.fixture(scope="session", autouse=True)
def _private_model_cache(tmp_path_factory):
    """Models converted for the ctranslate2 engine go to a per-session folder, never the user's cache."""
    os.environ["OLMOASR_CACHE"] = str(tmp_path_factory.mktemp("olmoasr-cache"))


@pytest.fixture(scope="session")
def librivox_dir():
    """Real human speech with transcripts; skipped where Debian's pocketsphinx-testdata is absent."""
    if not os.path.isdir(LIBRIVOX_DIR):
        pytest.skip("pocketsphinx-testdata not installed (apt-get install pocketsphinx-testdata)")
    return LIBRIVOX_DIR


@pytest.fixture(scope="session")
def librivox_utterances(librivox_dir):
    """[(wav_path, reference_text)] for the 5 LibriVox utterances (24.7 s of real read speech)."""
    import re

    pairs = []
    with open(os.path.join(librivox_dir, "transcription"), encoding="utf-8") as fh:
        for line in fh:
            match = re.match(r"^(.*)\((\S+)\)\s*$", line.strip())
            if match:
                text = match.group(1).replace("<s>", "").replace("</s>", "").strip()
                file_id = match.group(2)
                pairs.append((os.path.join(librivox_dir, f"{file_id}.wav"), text))
    return pairs
