"""Results on screen and on disk: a rich table, results.json, results.csv, a WER bar chart, comparisons."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from olmoasr.errors import UsageError
from olmoasr.evaluation.api import EvalReport
from olmoasr.evaluation.registry import REGISTRY, all_sets
from olmoasr.io.atomic import atomic_output, atomic_write_text

CSV_COLUMNS = (
    "model",
    "set",
    "form",
    "status",
    "wer",
    "published_wer",
    "ci_low",
    "ci_high",
    "substitutions",
    "deletions",
    "insertions",
    "reference_words",
    "scored",
    "skipped",
    "failed",
    "audio_seconds",
    "inference_seconds",
    "rtfx",
    "device",
    "dtype",
    "batch_size",
    "error",
)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def results_table(report: EvalReport) -> Table:
    title = f"{report.model} on {report.device}, {report.dtype}, batch {report.batch_size}"
    table = Table(title=escape(title), title_justify="left")
    with_paper = any(r.published_wer is not None for r in report.sets)
    columns = ["set", "WER %", *(["paper"] if with_paper else []), "95% CI", "S / D / I", "words", "scored",
               "skipped", "failed", "audio min", "RTFx"]  # fmt: skip
    for name in columns:
        table.add_column(name, justify="left" if name == "set" else "right")
    for r in report.sets:
        paper = [_fmt(r.published_wer, 1)] if with_paper else []
        if r.status != "ok":
            table.add_row(r.name, "[red]error[/red]", *paper, "", "", "", "", "", str(r.failed), "", "")
            continue
        ci = f"{_fmt(r.ci_low)}-{_fmt(r.ci_high)}" if r.ci_low is not None else "-"
        table.add_row(
            r.name,
            _fmt(r.wer),
            *paper,
            ci,
            f"{r.substitutions} / {r.deletions} / {r.insertions}",
            str(r.reference_words),
            str(r.scored),
            str(sum(r.skipped.values())),
            str(r.failed),
            f"{r.audio_seconds / 60:.1f}",
            _fmt(r.rtfx, 1),
        )
    for form in ("short", "long"):
        scored = [r for r in report.sets if r.form == form and r.wer is not None]
        if len(scored) > 1:
            mean = sum(r.wer for r in scored) / len(scored)
            papers = [r.published_wer for r in scored]
            paper = [] if not with_paper else [
                _fmt(sum(papers) / len(papers), 1) if None not in papers else ""
            ]  # fmt: skip
            table.add_row(f"[bold]average ({form})[/bold]", f"[bold]{mean:.2f}[/bold]", *paper)
    return table


def csv_text(reports: Sequence[EvalReport]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in reports:
        for r in report.sets:
            writer.writerow(
                {
                    "model": report.model,
                    "set": r.name,
                    "form": r.form,
                    "status": r.status,
                    "wer": r.wer,
                    "published_wer": r.published_wer,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "substitutions": r.substitutions,
                    "deletions": r.deletions,
                    "insertions": r.insertions,
                    "reference_words": r.reference_words,
                    "scored": r.scored,
                    "skipped": sum(r.skipped.values()),
                    "failed": r.failed,
                    "audio_seconds": r.audio_seconds,
                    "inference_seconds": r.inference_seconds,
                    "rtfx": r.rtfx,
                    "device": report.device,
                    "dtype": report.dtype,
                    "batch_size": report.batch_size,
                    "error": r.error or "",
                }
            )
    return buffer.getvalue()


def write_results(report: EvalReport, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """results.json, results.csv and (when matplotlib is installed and a set was scored) wer.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"json": out / "results.json", "csv": out / "results.csv"}
    atomic_write_text(written["json"], json.dumps(report.to_dict(), indent=2) + "\n")
    atomic_write_text(written["csv"], csv_text([report]))
    if any(r.wer is not None for r in report.sets):
        try:
            written["chart"] = plot_wer([report], out / "wer.png")
        except UsageError as err:
            from olmoasr.log import warn

            warn(f"no chart: {err}")
    return written


def load_report(path: str | os.PathLike[str]) -> EvalReport:
    file = Path(path)
    if file.is_dir():
        file = file / "results.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{file}: results file not found") from None
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{file}: not a results.json ({' '.join(str(err).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("sets"), list):
        raise UsageError(f"{file}: not a results.json written by `olmoasr eval` (no 'sets' list)")
    return EvalReport.from_dict(data)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError("bar charts need matplotlib: pip install 'olmoasr[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(report: EvalReport, index: int, labels: list[str]) -> str:
    label = Path(report.model).name if os.sep in report.model else report.model
    return label if labels.count(label) <= 1 else f"{label} ({index + 1})"


def plot_wer(reports: Sequence[EvalReport], path: str | os.PathLike[str]) -> Path:
    """Grouped bars: WER per set (x), one bar per report (model); error bars from the bootstrap CI."""
    plt = _pyplot()
    order = [s.name for s in all_sets()]
    names: list[str] = []
    for report in reports:
        for r in report.sets:
            if r.wer is not None and r.name not in names:
                names.append(r.name)
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    if not names:
        raise UsageError("no scored set to plot")
    raw_labels = [Path(r.model).name if os.sep in r.model else r.model for r in reports]
    width = 0.8 / len(reports)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) * max(1, len(reports)) ** 0.5 + 2), 4.5))
    for i, report in enumerate(reports):
        by_name = {r.name: r for r in report.sets}
        xs, heights, lower, upper = [], [], [], []
        for j, name in enumerate(names):
            r = by_name.get(name)
            if r is None or r.wer is None:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            heights.append(r.wer)
            lower.append(max(0.0, r.wer - r.ci_low) if r.ci_low is not None else 0.0)
            upper.append(max(0.0, r.ci_high - r.wer) if r.ci_high is not None else 0.0)
        bars = ax.bar(xs, heights, width, yerr=[lower, upper], capsize=2, label=_label(report, i, raw_labels))
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([REGISTRY[n].title if n in REGISTRY else n for n in names], rotation=30, ha="right")
    ax.set_ylabel("WER %")
    ax.set_title("Word error rate per evaluation set")
    if len(reports) > 1:
        ax.legend()
    fig.tight_layout()
    target = Path(path)
    with atomic_output(target.with_suffix(".png") if target.suffix != ".png" else target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return target


def comparison_table(reports: Sequence[EvalReport]) -> Table:
    raw_labels = [Path(r.model).name if os.sep in r.model else r.model for r in reports]
    table = Table(title="WER % per set", title_justify="left")
    table.add_column("set")
    for i, report in enumerate(reports):
        table.add_column(_label(report, i, raw_labels), justify="right")
    names: list[str] = []
    for report in reports:
        names.extend(r.name for r in report.sets if r.name not in names)
    for name in names:
        cells = []
        for report in reports:
            r = next((s for s in report.sets if s.name == name), None)
            cells.append(_fmt(r.wer) if r is not None else "")
        table.add_row(name, *cells)
    return table


def registry_table() -> Table:
    table = Table(title="Evaluation sets (olmoasr eval --sets NAME[,NAME...])", title_justify="left")
    for column in ("set", "form", "access", "size", "source"):
        table.add_column(column, overflow="fold")
    colours = {"free": "green", "gated": "yellow", "paid": "red", "manual": "magenta"}
    for entry in all_sets():
        access = f"[{colours[entry.access]}]{entry.access}[/{colours[entry.access]}]"
        table.add_row(entry.name, entry.form, access, escape(entry.size), escape(entry.source.describe()))
    return table


def obtain_lines() -> list[str]:
    """How to get each set that is not downloaded automatically."""
    return [f"{entry.name}: {entry.obtain}" for entry in all_sets() if not entry.is_hub]
