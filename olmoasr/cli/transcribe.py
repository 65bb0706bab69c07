"""`olmoasr transcribe`: audio/video files or directories -> txt, srt, vtt, tsv, json transcripts."""

from __future__ import annotations

from pathlib import Path

import typer

from olmoasr.model import defaults

ORDER = 80


def transcribe_command(
    inputs: list[Path] = typer.Argument(..., help="Audio/video files and/or directories (searched recursively)."),
    model_name: str = typer.Option(
        None,
        "-m",
        "--model",
        help="Model name (tiny ... large-v2, tiny.en-offline), "
        "checkpoint path or Hub repo id. Default: OLMoASR small, offline tiny.en.",
    ),
    output_dir: Path = typer.Option(Path("."), "-o", "--output-dir", help="Where the transcripts go."),
    formats: str = typer.Option("all", "-f", "--formats", help="Comma-separated: txt,srt,vtt,tsv,json or all."),
    language: str = typer.Option(None, "--language", help="Spoken language (code or name); detected if omitted."),
    task: str = typer.Option(None, "--task", help="transcribe (default), or translate (to English)."),
    beam_size: int = typer.Option(None, "--beam-size", help="Beams for beam search at temperature 0."),
    best_of: int = typer.Option(None, "--best-of", help="Samples per window at temperature > 0."),
    patience: float = typer.Option(None, "--patience", help="Beam search patience (needs --beam-size)."),
    length_penalty: float = typer.Option(None, "--length-penalty", help="GNMT length penalty alpha in [0, 1]."),
    temperature: float = typer.Option(
        None, "--temperature", help=f"First sampling temperature (default {defaults.TEMPERATURE})."
    ),
    temperature_increment: float = typer.Option(
        None,
        "--temperature-increment-on-fallback",
        help=f"Step of the fallback schedule up to 1.0 (default {defaults.TEMPERATURE_STEP}; 0 = no fallback).",
    ),
    compression_ratio_threshold: float = typer.Option(
        None,
        "--compression-ratio-threshold",
        help=f"Retry hotter when gzip ratio is above this (default {defaults.COMPRESSION_RATIO_THRESHOLD}).",
    ),
    logprob_threshold: float = typer.Option(
        None,
        "--logprob-threshold",
        help=f"Retry hotter when the average log-prob is below this (default {defaults.LOGPROB_THRESHOLD}).",
    ),
    no_speech_threshold: float = typer.Option(
        None,
        "--no-speech-threshold",
        help=f"Skip a window as silence above this no-speech probability (default {defaults.NO_SPEECH_THRESHOLD}).",
    ),
    no_speech_after: str = typer.Option(
        None,
        "--no-speech-after",
        help="Read the no-speech probability after 'sot' (OpenAI Whisper; default) or "
        "'notimestamps' (where OLMoASR training puts <|nospeech|>).",
    ),
    word_timestamps: bool = typer.Option(None, "--word-timestamps", help="Add per-word times (json)."),
    without_timestamps: bool = typer.Option(None, "--without-timestamps", help="Decode text only."),
    initial_prompt: str = typer.Option(None, "--initial-prompt", help="Text to prompt the first window with."),
    condition_on_previous_text: bool = typer.Option(
        None,
        "--condition-on-previous-text/--no-condition-on-previous-text",
        help="Prompt each window with the previous text (default: on).",
    ),
    hallucination_silence_threshold: float = typer.Option(
        None,
        "--hallucination-silence-threshold",
        help="With --word-timestamps: skip silences longer than this (s) around suspected hallucinations.",
    ),
    batched: bool = typer.Option(False, "--batched", help="Decode many 30 s chunks at once (faster)."),
    batch_size: int = typer.Option(
        None, "--batch-size", help=f"Chunks per batch with --batched (default {defaults.BATCH_SIZE})."
    ),
    vad: bool = typer.Option(
        None, "--vad/--no-vad", help="With --batched: decode only VAD speech regions (default: on)."
    ),
    engine: str = typer.Option(
        None, "--engine", help="auto (CTranslate2 when installed, else torch), torch or ctranslate2."
    ),
    compute_type: str = typer.Option(
        None,
        "--compute-type",
        help="ctranslate2 engine: auto (int8 on CPU, float16 on CUDA), int8, int8_float16, float16, float32.",
    ),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: CUDA when available)."),
    fp16: bool = typer.Option(
        None, "--fp16/--fp32", help="torch engine: half precision (default: fp16 on CUDA, fp32 on CPU)."
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print segments as they are decoded."),
) -> int:
    """Transcribe audio/video files and directories with timestamps.

    \b
    Examples:
      olmoasr transcribe talk.mp3 interview.m4a videos/ --model medium -o out/ -f srt,vtt,json
      olmoasr transcribe talk.mp3 --model ./checkpoints/latest.pt --beam-size 5 --word-timestamps
      olmoasr transcribe recordings/ --model tiny.en-offline --batched --batch-size 16 -f txt
      olmoasr transcribe talk.mp3 --engine ctranslate2 --compute-type int8
    """
    from olmoasr.cli._offline import offline_model_option
    from olmoasr.console import stderr_console
    from olmoasr.engines import choose_engine, describe, load_engine
    from olmoasr.errors import UsageError
    from olmoasr.model import default_model_name
    from olmoasr.model.decoding.fallback import temperature_schedule
    from olmoasr.model.runtime import fp16_request
    from olmoasr.model.transcribe import split_options
    from olmoasr.outputs import parse_formats
    from olmoasr.outputs.runner import check_output_dir, collect_inputs, print_dropped, transcribe_files

    parse_formats(formats)
    check_output_dir(output_dir)
    collect_inputs(inputs, output_dir)  # two inputs that would write the same outputs fail here, before loading
    given = dict(
        language=language, task=task, beam_size=beam_size, best_of=best_of, patience=patience,
        length_penalty=length_penalty, compression_ratio_threshold=compression_ratio_threshold,
        logprob_threshold=logprob_threshold, no_speech_threshold=no_speech_threshold, no_speech_after=no_speech_after,
        word_timestamps=word_timestamps, without_timestamps=without_timestamps,
    )  # fmt: skip
    if temperature is not None or temperature_increment is not None:
        given["temperature"] = temperature_schedule(temperature, temperature_increment)
    if not batched:
        given.update(
            initial_prompt=initial_prompt,
            condition_on_previous_text=condition_on_previous_text,
            hallucination_silence_threshold=hallucination_silence_threshold,
        )
    else:
        given.update(batch_size=batch_size, vad=vad)
    options = {name: value for name, value in given.items() if value is not None}  # the library owns defaults
    batch_options = {name: options.pop(name) for name in ("batch_size", "vad") if name in options}
    split_options(dict(options))  # reject bad combinations before loading any weights

    chosen = choose_engine(engine)
    if chosen == "torch" and compute_type is not None:
        raise UsageError("--compute-type is for --engine ctranslate2; the torch engine takes --fp16/--fp32")
    with offline_model_option("--model"):
        model = load_engine(
            model_name or default_model_name(),
            engine=chosen,
            device=device,
            dtype=fp16_request(fp16),
            compute_type=compute_type,
        )
    stderr_console().print(describe(model), highlight=False, markup=False)

    summary = transcribe_files(
        model, inputs, output_dir, formats, batched=batched, verbose=verbose, **batch_options, **options
    )
    console = stderr_console()
    speed = summary.audio_seconds / summary.wall_seconds if summary.wall_seconds else 0.0
    console.print(
        f"transcribed {summary.succeeded} file(s), {summary.audio_seconds:.1f} s of audio in "
        f"{summary.wall_seconds:.1f} s ({speed:.1f}x real time) -> {output_dir}",
        highlight=False,
    )
    print_dropped(summary, console)
    if summary.failed:
        console.print(f"{summary.failed} file(s) failed:", highlight=False)
        for path, reason in summary.failures:
            # one line per file however long its path (soft_wrap: rich does not fold it at the console width)
            line = f"  {path}: {reason}" if str(path) not in reason else f"  {reason}"
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        return 1
    return 0


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe_command)
