"""Rich tables for the tag / filter / sample commands (stdout), shared by the three CLI modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from olmoasr.console import stdout_console


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


def print_tag_summary(summary: dict[str, Any], report: Any, summary_file: Path) -> None:
    console = stdout_console()
    records = summary["records"]
    table = Table(
        title=f"tag {summary['level']} · {summary['config']} · {records:,} records · {summary['hours']:.2f} h"
    )
    for column in ("tag", "value", "records", "% records", "hours", "tagger s"):
        table.add_column(column, justify="left" if column in ("tag", "value") else "right")
    for field, entry in summary["tags"].items():
        first = True
        rows = list(entry["buckets"].items())
        if "mean" in entry:
            rows.append(("mean", {"value": entry["mean"]}))
        for bucket, numbers in rows or [("-", {})]:
            value_records = numbers.get("records")
            table.add_row(
                field if first else "",
                bucket if "value" not in numbers else f"mean {numbers['value']:.4g}",
                f"{int(value_records):,}" if value_records is not None else "",
                _pct(value_records, records) if value_records is not None else "",
                f"{numbers['hours']:.2f}" if "hours" in numbers else "",
                f"{entry['cpu_seconds']:.2f}" if first else "",
            )
            first = False
        for event, n in entry.get("events", {}).items():
            table.add_row("", f"[dim]{event}[/dim]", f"{int(n):,}", _pct(n, records), "", "")
        if entry["errors"]:
            table.add_row("", "[red]errors[/red]", f"{int(entry['errors']):,}", "", "", "")
    console.print(table)
    notes = [f"shards run {report.tasks_run}, skipped (already done) {report.tasks_skipped}"]
    if summary["malformed_lines"]:
        notes.append(f"malformed lines skipped: {int(summary['malformed_lines']):,}")
    for reason, n in summary["untagged"].items():
        notes.append(f"untagged ({reason}): {int(n):,}")
    notes.append(f"summary: {summary_file}")
    console.print("; ".join(notes))
    for key, message in report.failures:
        console.print(f"[red]failed[/red] {key}: {message}")


def print_funnel(funnel: dict[str, Any], output: str | Path) -> None:
    from olmoasr.io.storage import as_path
    from olmoasr.pipeline.filter_config import DROP_REASON_KINDS, drop_reason_kind

    console = stdout_console()
    table = Table(title=f"filter · {funnel['config']}")
    for column in ("step", "records", "% of previous", "hours", "% of previous (h)"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in funnel["steps"]:
        table.add_row(
            row["step"],
            f"{int(row['records']):,}",
            f"{row['pct_records']:.2f}%",
            f"{row['hours']:.3f}",
            f"{row['pct_hours']:.2f}%",
        )
    console.print(table)
    by_kind: dict[str, list[str]] = {}
    for reason, count in funnel["drop_reasons"].items():
        by_kind.setdefault(drop_reason_kind(reason), []).append(f"{reason}: {int(count):,}")
    if not by_kind:
        console.print("dropped: none")
    for kind, reasons in sorted(by_kind.items(), key=lambda item: list(DROP_REASON_KINDS).index(item[0])):
        console.print(f"dropped ({DROP_REASON_KINDS[kind]}): {', '.join(reasons)}")
    if "missing" in by_kind:
        console.print("records without a value are kept with --missing pass")
    if funnel["malformed_lines"]:
        console.print(f"malformed lines skipped: {int(funnel['malformed_lines']):,}")
    console.print(f"funnel: {as_path(output) / 'filter_funnel.json'}")
    for failure in funnel.get("failed_shards", []):
        console.print(f"[red]failed[/red] {failure['shard']}: {failure['error']}")


def print_sample(result: Any) -> None:
    console = stdout_console()
    target = f"{result.target_hours:g} h" if result.target_hours is not None else f"{result.target_count:,} records"
    state = " (already done; nothing rewritten)" if result.skipped else ""
    console.print(
        f"sampled {result.records:,} records, {result.hours:.3f} h (target {target}, seed {result.seed}) "
        f"from {result.input_records:,} records / {result.input_hours:.3f} h into {len(result.shards)} shard(s) "
        f"in {result.output_dir}{state}"
    )
    if result.duplicate_ids:
        console.print(f"{result.duplicate_ids:,} candidate record(s) repeated another record's id and were not drawn")


COMPACT_PERCENTILES = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 100)
COMPACT_VALUES = 20


def print_tag_stats(result: Any, full: bool = False) -> None:
    """Percentiles of a tag's numbers (11 of them, or all 101 with `full`) and its mean, then counts of its
    other values (the 20 most frequent, or all with `full`), then how many records had no value."""
    console = stdout_console()
    notes = [f"{result.records:,} records", f"{result.missing:,} without a value"]
    if result.percentiles:
        table = Table(title=f"{result.key}: percentiles")
        table.add_column("percentile", justify="right")
        table.add_column("value", justify="right")
        shown = result.percentiles if full else [row for row in result.percentiles if row[0] in COMPACT_PERCENTILES]
        for p, value in shown:
            table.add_row(str(p), f"{value:.6g}")
        table.add_row("mean", f"{result.mean:.6g}")
        console.print(table)
        kind = "exact" if result.exact else f"approximate, seeded reservoir of {result.sample_size:,}"
        notes.append(f"{result.values:,} numbers ({kind})")
    if result.counts:
        shown_counts = list(result.counts.items()) if full else list(result.counts.items())[:COMPACT_VALUES]
        table = Table(title=f"{result.key}: values")
        for column in ("value", "records", "% of records"):
            table.add_column(column, justify="left" if column == "value" else "right")
        for value, count in shown_counts:
            table.add_row(value, f"{count:,}", _pct(count, result.records))
        console.print(table)
        if len(shown_counts) < len(result.counts):
            console.print(f"{len(result.counts) - len(shown_counts):,} less frequent values not shown (--full)")
    if result.uncounted:
        notes.append(f"{result.uncounted:,} other values (lists, objects, NaN, beyond --cap distinct)")
    console.print(", ".join(notes))
