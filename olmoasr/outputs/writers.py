"""One writer per output format. A writer renders a transcription result to text; `write` is atomic."""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from olmoasr.io.atomic import atomic_write_text
from olmoasr.timestamps import format_seconds, seconds_to_ms


def _segment_text(segment: dict) -> str:
    return segment["text"].strip()


class ResultWriter(ABC):
    extension: ClassVar[str]

    @abstractmethod
    def render(self, result: dict[str, Any]) -> str:
        """The whole output file's text for one transcription result."""

    def path_for(self, audio_path: str | Path, output_dir: str | Path, name: str | None = None) -> Path:
        """<output_dir>/<name>.<ext>; `name` defaults to the audio file's stem."""
        return Path(output_dir) / f"{name or Path(audio_path).stem}.{self.extension}"

    def write(
        self, result: dict[str, Any], audio_path: str | Path, output_dir: str | Path, name: str | None = None
    ) -> Path:
        path = self.path_for(audio_path, output_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, self.render(result))
        return path


class TxtWriter(ResultWriter):
    extension = "txt"

    def render(self, result: dict[str, Any]) -> str:
        return "".join(f"{_segment_text(segment)}\n" for segment in result["segments"] if _segment_text(segment))


class SrtWriter(ResultWriter):
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`."""

    extension = "srt"

    def render(self, result: dict[str, Any]) -> str:
        cues = [segment for segment in result["segments"] if _segment_text(segment)]
        blocks = []
        for number, segment in enumerate(cues, start=1):
            start, end = format_seconds(segment["start"], ","), format_seconds(segment["end"], ",")
            text = _segment_text(segment).replace("-->", "->")
            blocks.append(f"{number}\n{start} --> {end}\n{text}\n")
        return "\n".join(blocks)


class VttWriter(ResultWriter):
    """WebVTT: header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues."""

    extension = "vtt"

    def render(self, result: dict[str, Any]) -> str:
        blocks = ["WEBVTT\n"]
        for segment in result["segments"]:
            if not _segment_text(segment):
                continue
            start, end = format_seconds(segment["start"]), format_seconds(segment["end"])
            blocks.append(f"{start} --> {end}\n{_segment_text(segment).replace('-->', '->')}\n")
        return "\n".join(blocks)


class TsvWriter(ResultWriter):
    """Tab-separated `start<TAB>end<TAB>text` with integer milliseconds (locale-proof)."""

    extension = "tsv"

    def render(self, result: dict[str, Any]) -> str:
        lines = ["start\tend\ttext\n"]
        for segment in result["segments"]:
            text = _segment_text(segment).replace("\t", " ").replace("\n", " ")
            if text:
                lines.append(f"{seconds_to_ms(segment['start'])}\t{seconds_to_ms(segment['end'])}\t{text}\n")
        return "".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _json_safe(value.item())
    return value


class JsonWriter(ResultWriter):
    """The whole result ({text, segments, language}, and in batched mode "dropped": the chunks left out
    of the transcript, each with its time range and reason); NaN becomes null so the file is valid JSON."""

    extension = "json"

    def render(self, result: dict[str, Any]) -> str:
        return json.dumps(_json_safe(result), ensure_ascii=False) + "\n"
