"""What the quickstart shows at the end, read back from the stages' own outputs: the data funnel (pairs,
segments and hours after each filter step, like the paper's Fig. 2), the loss curve (PNG + a text
sparkline), the before/after eval table and the transcript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from olmoasr.io.jsonl import iter_jsonl, jsonl_files
from olmoasr.records.schema import record_duration_s

SPARK = "▁▂▃▄▅▆▇█"


def _records(directory: Path):
    for path in jsonl_files(directory):
        for _, record in iter_jsonl(path):
            yield record


def funnel_rows(
    sample_info: dict[str, Any], docs_dir: Path, segments_dir: Path, filter_input: Path, filtered_dir: Path,
    rejects_dir: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per stage / filter step: pairs (documents), segments, hours, % of the previous row's hours."""
    rows = [{"step": "sample shard (raw pairs)", "pairs": sample_info["pairs"], "segments": None,
             "hours": sample_info["hours"]}]  # fmt: skip
    docs = list(_records(docs_dir))
    rows.append({"step": "prep jsonl (readable pairs)", "pairs": len(docs), "segments": None,
                 "hours": sum(record_duration_s(d) for d in docs) / 3600})  # fmt: skip
    segments = [(r.get("id"), record_duration_s(r)) for r in _records(filter_input)]
    seg_ids = {r.get("id") for r in _records(segments_dir)}
    rows.append({"step": "prep segment (30 s windows)", "pairs": len(seg_ids), "segments": len(segments),
                 "hours": sum(s for _, s in segments) / 3600})  # fmt: skip
    funnel = orjson.loads((filtered_dir / "filter_funnel.json").read_bytes())
    dropped_at: dict[int, list[tuple[str, float]]] = {}
    for record in _records(rejects_dir):
        dropped_at.setdefault(int(record.get("_drop_step", -1)), []).append(
            (record.get("id"), record_duration_s(record))
        )
    remaining: dict[str, int] = {}
    for doc_id, _ in segments:
        remaining[doc_id] = remaining.get(doc_id, 0) + 1
    for index, step in enumerate(funnel["steps"][1:]):
        for doc_id, _ in dropped_at.get(index, []):
            remaining[doc_id] -= 1
        rows.append({"step": f"filter {step['step']}", "pairs": sum(1 for n in remaining.values() if n > 0),
                     "segments": int(step["records"]), "hours": float(step["hours"])})  # fmt: skip
    previous = None
    for row in rows:
        row["pct_hours"] = 100.0 * row["hours"] / previous if previous else 100.0
        previous = row["hours"] or None
    return rows


def funnel_table(rows: list[dict[str, Any]], title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (("step", "left"), ("pairs", "right"), ("segments", "right"), ("hours", "right"),
                          ("minutes", "right"), ("% of previous", "right")):  # fmt: skip
        table.add_column(name, justify=justify)
    for row in rows:
        table.add_row(
            row["step"], str(row["pairs"]), "" if row["segments"] is None else str(row["segments"]),
            f"{row['hours']:.4f}", f"{row['hours'] * 60:.2f}", f"{row['pct_hours']:.1f}%",
        )  # fmt: skip
    return table


# ------------------------------------------------------------------------------------------- loss


def loss_curve(metrics_file: Path) -> list[tuple[int, float]]:
    """(step, loss) from the trainer's metrics.jsonl; a resumed run's repeated steps keep the last value."""
    losses: dict[int, float] = {}
    if metrics_file.is_file():
        for _, record in iter_jsonl(metrics_file):
            if record.get("kind") == "train" and isinstance(record.get("train/loss"), int | float):
                losses[int(record["step"])] = float(record["train/loss"])
    return sorted(losses.items())


def sparkline(values: list[float], width: int = 60) -> str:
    if not values:
        return ""
    if len(values) > width:  # average into `width` buckets
        size = len(values) / width
        values = [
            sum(chunk) / len(chunk)
            for chunk in (values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)] for i in range(width))
        ]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))] for v in values)


def plot_loss(points: list[tuple[int, float]], path: Path, title: str) -> Path | None:
    """Save the loss curve as a PNG (matplotlib's Agg backend, imported only here). None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    from olmoasr.io.atomic import atomic_output

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.plot([s for s, _ in points], [v for _, v in points], marker="o" if len(points) < 40 else None, lw=1.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (token cross-entropy)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------- eval


def read_eval(results_dir: Path) -> dict[str, Any] | None:
    """The held-out set's result from `olmoasr eval`'s results.json (None when missing)."""
    path = results_dir / "results.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    sets = data.get("sets") or []
    if not sets:
        return None
    result = sets[0]
    return {
        "model": data.get("model"),
        "wer": result.get("wer"),
        "ci_low": result.get("ci_low"),
        "ci_high": result.get("ci_high"),
        "substitutions": result.get("substitutions"),
        "deletions": result.get("deletions"),
        "insertions": result.get("insertions"),
        "reference_words": result.get("reference_words"),
        "scored": result.get("scored"),
        "rtfx": result.get("rtfx"),
        "status": result.get("status"),
    }


def eval_table(before: dict[str, Any] | None, after: dict[str, Any] | None, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (("model", "left"), ("WER %", "right"), ("95% CI", "right"), ("S / D / I", "right"),
                          ("words", "right"), ("utterances", "right")):  # fmt: skip
        table.add_column(name, justify=justify)
    for label, result in (("before training", before), ("after training", after)):
        if result is None or result.get("wer") is None:
            table.add_row(label, "-", "", "", "", "")
            continue
        ci = f"{result['ci_low']:.1f}-{result['ci_high']:.1f}" if result.get("ci_low") is not None else "-"
        table.add_row(
            f"{label}: {result['model']}", f"{result['wer']:.1f}", ci,
            f"{result['substitutions']} / {result['deletions']} / {result['insertions']}",
            str(result["reference_words"]), str(result["scored"]),
        )  # fmt: skip
    return table


def read_transcript(transcribe_dir: Path, audio: Path) -> str | None:
    path = transcribe_dir / f"{audio.stem}.txt"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None
