"""Results on screen and on disk: a rich table, results.json, results.csv, a WER bar chart, comparisons."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from rich import box
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


def results_table(report: EvalReport, width: int | None = None) -> Table:
    """WER per set. When the full table would not fit in `width` columns (an 80-column terminal): set, WER, CI,
    paper, utterances and RTFx only, so that no key cell is cut (S / D / I, words and minutes are in the CSV)."""
    table = _results_table(report, full=True)
    if width is not None and _natural_width(table) > width:
        table = _results_table(report, full=False)
    return table


def _natural_width(table: Table) -> int:
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def _results_table(report: EvalReport, full: bool) -> Table:
    title = f"{report.model} on {report.device}, {report.dtype}, batch {report.batch_size}"
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD)
    with_paper = any(r.published_wer is not None for r in report.sets)
    longest = max([len(r.name) for r in report.sets] + [len("average (short)")])
    table.add_column("set", overflow="fold", min_width=min(16, longest))
    columns = ["WER %", "95% CI", *(["paper"] if with_paper else [])]
    columns += ["S / D / I", "words", "scored", "skipped", "failed", "audio min"] if full else ["scored", "failed"]
    columns.append("RTFx")
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for r in report.sets:
        cells = {name: "" for name in columns}
        cells["failed"] = str(r.failed)
        if with_paper:
            cells["paper"] = _fmt(r.published_wer, 1)
        if r.status != "ok":
            cells["WER %"] = "[red]error[/red]"
        else:
            cells.update({
                "WER %": _fmt(r.wer),
                "95% CI": f"{_fmt(r.ci_low)}-{_fmt(r.ci_high)}" if r.ci_low is not None else "-",
                "S / D / I": f"{r.substitutions} / {r.deletions} / {r.insertions}",
                "words": str(r.reference_words),
                "scored": str(r.scored),
                "skipped": str(sum(r.skipped.values())),
                "audio min": f"{r.audio_seconds / 60:.1f}",
                "RTFx": _fmt(r.rtfx, 1),
            })  # fmt: skip
        table.add_row(escape(r.name), *(cells[name] for name in columns))
    for form in ("short", "long"):
        scored = [r for r in report.sets if r.form == form and r.wer is not None]
        if len(scored) > 1:
            cells = {name: "" for name in columns}
            cells["WER %"] = f"[bold]{sum(r.wer for r in scored) / len(scored):.2f}[/bold]"
            papers = [r.published_wer for r in scored]
            if with_paper and None not in papers:
                cells["paper"] = _fmt(sum(papers) / len(papers), 1)
            table.add_row(f"[bold]average ({form})[/bold]", *(cells[name] for name in columns))
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


def model_labels(reports: Sequence[EvalReport], sources: Sequence[str | os.PathLike[str]] = ()) -> list[str]:
    """One distinct label per report, naming the model: a checkpoint path keeps its folder and as many more as
    tell it apart (`a/export.pt`, `b/export.pt`); the same model twice adds its results folder (`sources`)."""
    parts = [Path(r.model).parts if os.sep in r.model else (r.model,) for r in reports]
    depth = [min(2, len(p)) for p in parts]  # `run/export.pt`: a file name alone rarely says which model
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashes = [
            i
            for i, label in enumerate(labels)
            if depth[i] < len(parts[i]) and any(labels[k] == label and parts[k] != parts[i] for k in range(len(parts)))
        ]
        if not clashes:
            break
        for i in clashes:
            depth[i] += 1
    same = [labels.count(label) > 1 for label in labels]
    for i, label in enumerate(labels):
        if same[i]:
            origin = Path(sources[i]) if i < len(sources) else None
            if origin is not None and origin.name == "results.json":
                origin = origin.parent
            labels[i] = f"{label} ({origin.name if origin is not None else i + 1})"
    return labels


def _scored_names(reports: Sequence[EvalReport]) -> list[str]:
    order = [s.name for s in all_sets()]
    names: list[str] = []
    for report in reports:
        for r in report.sets:
            if r.wer is not None and r.name not in names:
                names.append(r.name)
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def wer_axis_top(reports: Sequence[EvalReport]) -> float:
    """The y-axis top that fits every bar, error bar and value label: charts compared side by side share it."""
    tops = [r.ci_high if r.ci_high is not None else r.wer for report in reports for r in report.sets if r.wer]
    return max(1.0, max(tops, default=1.0) * 1.18)


def plot_wer(
    reports: Sequence[EvalReport],
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    y_top: float | None = None,
    heading: str | None = None,
) -> Path:
    """WER bars with the bootstrap 95 % CI as error bars, each value printed above its error bar. One set: a
    bar per model, named under it. Several sets: a group per set (with its utterance count), a colour per
    model, the legend outside the axes. The title names what was compared (`heading` instead of the model
    names); charts meant to be compared take the same `y_top` (`wer_axis_top` of all their reports)."""
    plt = _pyplot()
    fig = wer_figure(reports, labels=labels, y_top=y_top, heading=heading)
    target = Path(path)
    target = target.with_suffix(".png") if target.suffix != ".png" else target
    with atomic_output(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return target


def wer_figure(
    reports: Sequence[EvalReport],
    *,
    labels: Sequence[str] | None = None,
    y_top: float | None = None,
    heading: str | None = None,
):
    """The matplotlib figure `plot_wer` saves."""
    plt = _pyplot()
    names = _scored_names(reports)
    if not names:
        raise UsageError("no scored set to plot")
    labels = list(labels) if labels is not None else model_labels(reports)
    top = y_top if y_top is not None else wer_axis_top(reports)
    if len(names) == 1:
        fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(reports) + 2.0), 4.6))
        results = [next((r for r in report.sets if r.name == names[0]), None) for report in reports]
        for i, r in enumerate(results):
            _bar(ax, i, r, 0.6, f"C{i}", None, top)
        ax.set_xticks(range(len(reports)))
        ax.set_xlim(-0.8, len(reports) - 0.2)
        ax.set_xticklabels([_wrap(label) for label in labels])
        what = f"{_set_title(names[0])} ({_n_utterances(names[0], reports)})"
        ax.set_title(f"{heading or 'Word error rate: ' + _wrap(_models_title(labels), 60)}\non {what}", fontsize=10)
    else:
        width = 0.8 / len(reports)
        fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 1.3 * len(names) * len(reports) ** 0.5 + 2.5)), 4.8))
        for i, report in enumerate(reports):
            by_name = {r.name: r for r in report.sets}
            legend: str | None = labels[i]  # once per model
            for j, name in enumerate(names):
                if _bar(ax, j - 0.4 + width * (i + 0.5), by_name.get(name), width * 0.92, f"C{i}", legend, top):
                    legend = None
        ax.set_xticks(range(len(names)))
        tilt = len(names) > 5
        ax.set_xticklabels([f"{_set_title(n)}\n{_n_utterances(n, reports)}" for n in names],
                           rotation=25 if tilt else 0, ha="right" if tilt else "center",
                           rotation_mode="anchor" if tilt else "default")  # fmt: skip
        ax.set_title(f"{heading or 'Word error rate: ' + _models_title(labels)}\non {len(names)} sets", fontsize=10)
        if len(reports) > 1:  # outside the axes, so it never covers a bar
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)
    ax.set_ylim(0, top)
    ax.set_ylabel("WER % (lower is better)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.text(0.01, 0.01, "error bars: 95 % bootstrap confidence interval", fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _bar(ax, x: float, r, width: float, color: str, legend: str | None, top: float) -> bool:
    """One WER bar with its CI; the value sits above the error bar. False when `r` has no WER."""
    if r is None or r.wer is None:
        return False
    low = max(0.0, r.wer - r.ci_low) if r.ci_low is not None else 0.0
    high = max(0.0, r.ci_high - r.wer) if r.ci_high is not None else 0.0
    ax.bar(x, r.wer, width, color=color, label=legend, yerr=[[low], [high]], capsize=3, ecolor="0.25")
    ax.text(x, r.wer + high + 0.015 * top, f"{r.wer:.1f}", ha="center", va="bottom", fontsize=8)
    return True


def _set_title(name: str) -> str:
    return REGISTRY[name].title if name in REGISTRY else name


def _n_utterances(name: str, reports: Sequence[EvalReport]) -> str:
    counts = sorted({r.scored for report in reports for r in report.sets if r.name == name and r.wer is not None})
    return f"n = {' / '.join(str(c) for c in counts)} utterances"


def _models_title(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else " vs ".join(labels) if len(labels) <= 3 else f"{len(labels)} models"


def _wrap(label: str, width: int = 22) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


def comparison_table(reports: Sequence[EvalReport], sources: Sequence[str | os.PathLike[str]] = ()) -> Table:
    table = Table(title="WER % per set", title_justify="left")
    table.add_column("set", overflow="fold")
    for label in model_labels(reports, sources):
        table.add_column(escape(label), justify="right", overflow="fold")
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
