"""What the quickstart shows at the end, from the stage reports and the stages' outputs: the data funnel
(pairs, segments and hours after each filter step, like the paper's Fig. 2), the loss curve (PNG + a text
sparkline, from the trainer's metrics.jsonl), the before/after eval table and the transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmoasr.io.jsonl import iter_jsonl, jsonl_files

SPARK = "▁▂▃▄▅▆▇█"


def funnel_rows(
    sample_info: dict[str, Any], reports: dict[str, dict[str, Any]], filtered_dir: Path, rejects_dir: Path
) -> list[dict[str, Any]]:
    """One row per stage / filter step: pairs (documents), segments, hours, % of the previous row's hours.

    Counts and hours come from the stage reports (prep stats, the filter's funnel). Which pairs are left
    after each filter step is per record, so that column is counted from the filter's own outputs: the
    kept records and the rejects (with the step that dropped each).
    """
    rows = [{"step": "sample shard (raw pairs)", "pairs": sample_info["pairs"], "segments": None,
             "hours": sample_info["hours"]}]  # fmt: skip
    docs = reports["prep_jsonl"]["stats"]
    rows.append({"step": "prep jsonl (readable pairs)", "pairs": int(docs.get("docs", 0)), "segments": None,
                 "hours": float(docs.get("hours_in", 0.0))})  # fmt: skip
    funnel = reports["filter"]["funnel"]
    segmented = reports["prep_segment"]["stats"]
    rows.append({"step": "prep segment (30 s windows)", "pairs": int(segmented.get("docs_with_segments", 0)),
                 "segments": int(funnel["input"]["records"]), "hours": float(funnel["input"]["hours"])})  # fmt: skip
    remaining: dict[str, int] = {}  # document -> its segments still in after the steps so far
    dropped_at: dict[int, list[str]] = {}
    for directory in (filtered_dir, rejects_dir):
        for path in jsonl_files(directory):
            for _, record in iter_jsonl(path):
                doc_id = str(record.get("id"))
                remaining[doc_id] = remaining.get(doc_id, 0) + 1
                if directory == rejects_dir:
                    dropped_at.setdefault(int(record.get("_drop_step", -1)), []).append(doc_id)
    for index, step in enumerate(funnel["steps"][1:]):
        for doc_id in dropped_at.get(index, []):
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
        mark = " *" if _overlap_note(row) else ""
        table.add_row(
            row["step"], str(row["pairs"]), "" if row["segments"] is None else str(row["segments"]),
            f"{row['hours']:.4f}", f"{row['hours'] * 60:.2f}", f"{row['pct_hours']:.1f}%{mark}",
        )  # fmt: skip
    return table


def funnel_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Footnotes for the funnel table: why a row can hold more hours than the row before it."""
    return [f"* {note}" for note in dict.fromkeys(filter(None, map(_overlap_note, rows)))]


def _overlap_note(row: dict[str, Any]) -> str | None:
    if row["pct_hours"] <= 100.05 or not row["step"].startswith("prep segment"):
        return None
    return (
        "over 100 %: a segment's audio is the full 30 s from its window's start, and the next window starts at "
        "the end of the previous window's last caption, so windows overlap by design (the original's rule; the "
        "text never repeats)"
    )


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

BEFORE_AFTER_PNG = "wer_before_after.png"


def plot_before_after(before_dir: Path, after_dir: Path, path: Path) -> Path | None:
    """Held-out WER before and after training in one chart, on one scale, from the two evals' results.json.
    None without matplotlib or without a WER on either side."""
    import importlib.util

    from olmoasr.evaluation.report import load_report, model_labels, plot_wer

    if importlib.util.find_spec("matplotlib") is None:
        return None
    reports = [load_report(before_dir / "results.json"), load_report(after_dir / "results.json")]
    if any(not report.sets or report.sets[0].wer is None for report in reports):
        return None
    before, after = model_labels(reports)
    labels = [f"before training ({before})", f"after training ({after})"]
    return plot_wer(reports, path, labels=labels, heading="Held-out WER before and after training")


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
