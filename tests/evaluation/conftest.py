"""Evaluation fixtures: generated speech, Hub-format datasets written like the Hub's parquet, a micro model."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "Open the window and let the fresh air in.",
    "We paid twenty five dollars for the tickets.",
    "Mister Smith arrived at nine o'clock.",
]


def flite_wav(text: str, path: Path) -> Path:
    subprocess.run(["flite", "-t", text, "-o", str(path)], check=True, capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def speech_clips(tmp_path_factory) -> list[tuple[Path, str]]:
    """[(wav path, reference text)] of generated speech (Debian's flite); skipped where flite is absent."""
    if shutil.which("flite") is None:
        pytest.skip("flite not installed (apt-get install flite)")
    folder = tmp_path_factory.mktemp("speech")
    return [(flite_wav(text, folder / f"utt{i}.wav"), text) for i, text in enumerate(SENTENCES)]


def write_hub_parquet(
    folder: Path,
    rows: list[dict],
    split: str = "test",
    text_field: str = "text",
    audio_column: str = "audio",
    extra: dict | None = None,
) -> Path:
    """A dataset laid out like a Hub parquet repo: `data/<split>-00000-of-00001.parquet`, Audio feature metadata.

    `rows`: {"audio": path or bytes, "text": ..., "id": ...}. Written with pyarrow (datasets would need
    torchcodec to encode audio).
    """
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    audio_values = []
    for row in rows:
        audio = row["audio"]
        if isinstance(audio, bytes):
            audio_values.append({"bytes": audio, "path": None})
        else:
            audio_values.append({"bytes": Path(audio).read_bytes(), "path": Path(audio).name})
    columns = {
        "id": [str(row.get("id", i)) for i, row in enumerate(rows)],
        audio_column: audio_values,
        text_field: [row["text"] for row in rows],
    }
    features = {
        "id": {"dtype": "string", "_type": "Value"},
        audio_column: {"sampling_rate": 16000, "_type": "Audio"},
        text_field: {"dtype": "string", "_type": "Value"},
    }
    for name, values in (extra or {}).items():
        columns[name] = values
        features[name] = {"dtype": "string", "_type": "Value"}
    schema = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field(audio_column, pa.struct({"bytes": pa.binary(), "path": pa.string()})),
            pa.field(text_field, pa.string()),
            *[pa.field(name, pa.string()) for name in (extra or {})],
        ],
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )
    table = pa.table(columns, schema=schema)
    target = folder / "data" / f"{split}-00000-of-00001.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return folder


@pytest.fixture(scope="session")
def micro_model():
    """A random-weight Whisper network small enough for CPU tests (fan-in init: varied, non-empty output)."""
    torch = pytest.importorskip("torch")
    from olmoasr.model.dims import ENGLISH_VOCAB, ModelDimensions
    from olmoasr.model.network import Whisper, init_fan_in_gaussian_

    torch.manual_seed(0)
    dims = ModelDimensions(80, 1500, 64, 2, 2, ENGLISH_VOCAB, 448, 64, 2, 2)
    return init_fan_in_gaussian_(Whisper(dims)).eval()


def sine(seconds: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
