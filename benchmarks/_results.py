"""Write one benchmark's section into benchmarks/RESULTS.md, between its own markers, with machine and date."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{gpu}, Python {platform.python_version()}"


def write_section(name: str, body_markdown: str) -> None:
    """Replace (or append) the section `name` of RESULTS.md with `body_markdown`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = f"_Run {dt.date.today().isoformat()} on {machine_description()}._\n\n"
    block = f"{start}\n{stamp}{body_markdown.rstrip()}\n{end}"
    text = (
        RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in this folder.\n"
    )
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
