"""What people read: chart titles and labels say what was compared, values clear their error bars, legends
stay off the bars, compared charts share a scale, and an 80-column table cuts no key cell."""

from __future__ import annotations

import pytest
from rich.console import Console

from olmoasr.evaluation.api import EvalReport
from olmoasr.evaluation.report import model_labels, results_table, wer_axis_top, wer_figure
from olmoasr.evaluation.run_set import SetResult

SETS = [("librispeech_clean", 5.1, 4.8, 5.4, 2620), ("librispeech_other", 12.3, 11.7, 12.9, 2939),
        ("tedlium", 6.2, 5.5, 7.0, 1155)]  # fmt: skip


def report(model: str, sets=SETS, scale: float = 1.0) -> EvalReport:
    results = [
        SetResult(
            name=name,
            form="short",
            source="test",
            wer=wer * scale,
            ci_low=low * scale,
            ci_high=high * scale,
            scored=n,
            reference_words=20 * n,
            substitutions=n,
            deletions=n // 3,
            insertions=n // 7,
            audio_seconds=4.0 * n,
            rtfx=123.4,
        )  # fmt: skip
        for name, wer, low, high, n in sets
    ]
    return EvalReport(model, "cpu", "float32", 16, {}, "", "0.1.0", results)


def test_labels_name_the_model_not_the_file():
    a, b = report("runs/a/export.pt"), report("runs/b/export.pt")
    assert model_labels([a, b, report("small")]) == ["a/export.pt", "b/export.pt", "small"]
    assert model_labels([report("x/run1/ft/export.pt"), report("y/run2/ft/export.pt")]) == [
        "run1/ft/export.pt",
        "run2/ft/export.pt",
    ]
    assert model_labels([a, a], ["before/results.json", "after"]) == ["a/export.pt (before)", "a/export.pt (after)"]


@pytest.fixture
def figure():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    made = []

    def build(*args, **kwargs):
        fig = wer_figure(*args, **kwargs)
        made.append(fig)
        fig.canvas.draw()
        return fig

    yield build
    for fig in made:
        plt.close(fig)


def _value_labels(ax) -> list:
    return [t for t in ax.texts if t.get_text().replace(".", "", 1).isdigit()]


def test_chart_says_what_was_compared_and_values_clear_the_error_bars(figure):
    reports = [report("runs/a/export.pt"), report("runs/b/export.pt", scale=0.8)]
    fig = figure(reports)
    ax = fig.axes[0]
    title = ax.get_title()
    assert "a/export.pt" in title and "b/export.pt" in title and "3 sets" in title
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "LibriSpeech test-clean\nn = 2620 utterances"
    assert any("95 % bootstrap confidence interval" in t.get_text() for t in fig.texts)
    tops = sorted(r.ci_high for rep in reports for r in rep.sets)
    values = sorted(_value_labels(ax), key=lambda t: t.get_position()[1])
    assert len(values) == 6
    for text, ci_top in zip(values, tops, strict=True):
        assert text.get_position()[1] > ci_top and text.get_va() == "bottom"
    legend = ax.get_legend()
    renderer = fig.canvas.get_renderer()
    assert legend is not None
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1  # beside the bars, not on them


def test_one_set_names_models_under_their_bars_and_charts_share_a_scale(figure):
    before = report("tiny.en-offline", [("heldout", 12.5, 4.0, 22.0, 2)])
    after = report("qs/06_train/runs/quickstart/export.pt", [("heldout", 35.2, 20.1, 52.3, 2)])
    top = wer_axis_top([before, after])
    assert top > 52.3
    pair = figure([before, after], labels=["before: tiny.en-offline", "after: fine-tuned"], y_top=top)
    ax = pair.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["before:\ntiny.en-offline", "after: fine-tuned"]
    assert "heldout (n = 2 utterances)" in ax.get_title()
    alone = [figure([r], y_top=top).axes[0] for r in (before, after)]
    assert ax.get_ylim() == alone[0].get_ylim() == alone[1].get_ylim() == (0.0, top)
    assert "quickstart/export.pt" in alone[1].get_title()


def test_an_80_column_table_keeps_key_cells_whole():
    rows = [*SETS, ("a_rather_long_manifest_name", 100.0, 95.12, 104.55, 44)]
    result = report("qs/06_train/runs/quickstart/export.pt", rows)
    result.sets[0].published_wer = 5.0
    console = Console(width=80, record=True)
    console.print(results_table(result, console.width))
    shown = console.export_text()
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    for cell in ("100.00", "95.12-104.55", "librispeech_other", "scored", "RTFx", "123.4", "2939"):
        assert cell in shown
    wide = Console(width=200, record=True)
    wide.print(results_table(result, wide.width))
    shown = wide.export_text()
    assert "S / D / I" in shown and "audio min" in shown


class _Parrot:
    """A recognizer that says 'hello there' to every clip."""

    device = "cpu"

    def short_form(self, batch):
        return ["hello there"] * len(batch)

    def long_form(self, audio):
        return "hello there"

    def synchronize(self):
        pass


def test_the_screen_lists_only_the_files_written(tmp_path, monkeypatch, capsys):
    """Without matplotlib: one warning says there is no chart, and `results:` does not claim wer.png."""
    import olmoasr.evaluation.api as api
    from olmoasr.audio import write_audio
    from olmoasr.cli.main import run
    from olmoasr.errors import UsageError
    from olmoasr.evaluation import report as report_module

    from .helpers import sine

    write_audio(tmp_path / "a.wav", sine(1.0))
    (tmp_path / "m.jsonl").write_text('{"audio": "a.wav", "text": "hello there"}\n')
    monkeypatch.setattr(api, "load_recognizer", lambda *a, **k: _Parrot())

    def no_matplotlib():
        raise UsageError("bar charts need matplotlib: pip install 'olmoasr[eval]'")

    monkeypatch.setattr(report_module, "_pyplot", no_matplotlib)
    out = tmp_path / "out"
    argv = ["eval", "--model", "x.pt", "--manifest", str(tmp_path / "m.jsonl"), "-o", str(out), "-q"]
    assert run([*argv, "--bootstrap", "0"]) == 0
    captured = capsys.readouterr()
    assert "warning: no chart: bar charts need matplotlib" in captured.err
    results_line = next(line for line in captured.out.splitlines() if line.startswith("results:"))
    assert "wer.png" not in results_line and "results.json" in results_line
    assert not (out / "wer.png").exists()
    monkeypatch.undo()
    monkeypatch.setattr(api, "load_recognizer", lambda *a, **k: _Parrot())
    pytest.importorskip("matplotlib")
    assert run([*argv, "--bootstrap", "0"]) == 0
    results_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("results:"))
    assert "wer.png" in results_line and (out / "wer.png").is_file()
