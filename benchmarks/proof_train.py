"""Proof of learning: synthesise a speech corpus, prep it, train from scratch, report held-out greedy WER on
two held-out sets that separate memorised text from listening.

    python benchmarks/proof_train.py --utterances 3000 --steps 1100       # ~35 min on 2 busy CPU cores
    python benchmarks/proof_train.py --device cuda                        # small, bf16: the GPU figure
    python benchmarks/proof_train.py --dry-run --work /tmp/dry            # the cuda preset's path on CPU, tiny sizes

Held-out sets (neither is ever trained on):
- "training sentences, another voice": sentences the model was trained on, each spoken by a voice other than
  the one that spoke it in training. A decoder that only recites memorised text (without listening) picks the
  wrong sentence; one that listens gets them right.
- "new sentences": the corpus's held-out sentences (texts never in training): listening and generalising.
Both are scored by `olmoasr eval`'s short form (greedy, Whisper English normaliser) on the exported model.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import write_section  # noqa: E402

MICRO_DIMS = {"n_audio_state": 128, "n_audio_head": 2, "n_audio_layer": 2,
              "n_text_state": 128, "n_text_head": 2, "n_text_layer": 2}  # fmt: skip
# per device: config, steps, batch, lr, precision, loader workers (each overridable on the command line)
PRESETS = {
    "cpu": {"config": "micro", "steps": 60, "batch": 8, "lr": 2e-3, "precision": "float32", "workers": 1},
    "cuda": {"config": "small", "steps": 1500, "batch": 64, "lr": 1e-3, "precision": "bfloat16", "workers": 8},
}
NO_CUDA = "no CUDA device on this machine (--dry-run checks the path)"
DRY_RUN_DIMS = {"n_audio_state": 32, "n_audio_head": 2, "n_audio_layer": 1,
                "n_text_state": 32, "n_text_head": 2, "n_text_layer": 1}  # fmt: skip


def seen_text_new_voice(corpus_dir: Path, out_dir: Path, count: int) -> Path:
    """`count` training sentences, each spoken by a voice other than its training voice (a manifest)."""
    from olmoasr.synth.clips import speak_manifest
    from olmoasr.synth.corpus import plan_corpus, random_voice

    info = json.loads((corpus_dir / "corpus.json").read_text())
    train_shards, _ = plan_corpus(info["utterances"], info["seed"], info["holdout_fraction"], pairs_per_shard=100)
    spoken = [
        (sentence, spec.voice) for specs in train_shards.values() for spec in specs for sentence in spec.sentences
    ]
    rng = random.Random(info["seed"] + 1)
    picks = rng.sample(spoken, min(count, len(spoken)))
    voices = []
    for _, training_voice in picks:
        voice = random_voice(rng)
        while (voice.engine, voice.name) == (training_voice.engine, training_voice.name):
            voice = random_voice(rng)
        voices.append(voice)
    manifest = out_dir / "seen_text_new_voice.jsonl"
    if manifest.exists():
        return manifest
    return speak_manifest(out_dir, tuple(text for text, _ in picks), tuple(voices), "seen_text_new_voice")


def command_line(argv: list[str]) -> list[str]:
    """argv without --note and its text (the note is printed below the figures)."""
    out, skip = [], False
    for arg in argv:
        if skip or arg == "--note" or arg.startswith("--note="):
            skip = arg == "--note" and not skip
            continue
        out.append(arg)
    return out


def distinct_outputs(eval_dir: Path, row: dict) -> str:
    """'k of n' different (normalised) hypotheses among a set's clips, from its utterances file."""
    from olmoasr.text.normalize import normalize_english

    path = eval_dir / f"{row['name']}.utterances.jsonl"
    texts = [normalize_english(json.loads(line)["hypothesis"]) for line in path.read_text().splitlines()]
    return f"{len(set(texts))} of {len(texts)}"


def report(work: Path, stats: dict, device: str, config_name: str) -> str:
    """The RESULTS.md body, read back from the run's config.yaml, metrics.jsonl and the eval's results.json."""
    import yaml

    config = yaml.safe_load((work / "run" / "config.yaml").read_text())
    records = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if r["kind"] == "train"]
    tf_wers = [r["train/wer"] for r in losses if "train/wer" in r]
    wall = work / "run" / "wall_minutes.txt"
    if wall.exists():
        took = f"{float(wall.read_text()):.1f} min wall for training"
    else:  # a run made before wall_minutes.txt was written: its logged step times x the steps they stand for
        steps = [r["step"] for r in losses]
        seconds = sum(r["perf/step_time_s"] * (s - p) for r, s, p in zip(losses, steps, [0, *steps], strict=False))
        took = f"{seconds / 60:.0f} min of training steps"
    results = json.loads((work / "eval" / "results.json").read_text())
    seen, new = results["sets"]
    engine = f"{results.get('engine', 'torch')} engine, {results.get('dtype', 'float32')}"
    dims = config.get("dims") or {}
    size = f"d={dims['n_audio_state']}, {dims['n_audio_layer']}+{dims['n_text_layer']} layers" if dims else ""
    lines = [
        f"`{' '.join(['python', *command_line(sys.argv)])}`",
        "",
        f"{config_name} model{f' ({size})' if size else ''} from scratch, {losses[-1]['step']} steps x "
        f"{config['eff_batch_size']} segments, lr {config['lr']:g}, {config['precision']} on {device}, "
        f"feature_padding {config.get('feature_padding', 'audio')}, on {stats['train_utterances']:.0f} synthetic "
        f"flite/espeak-ng utterances ({stats['train_seconds'] / 60:.0f} min of speech), {took}: "
        f"train loss {losses[0]['train/loss']:.2f} -> {losses[-1]['train/loss']:.2f}, teacher-forced "
        f"WER on training batches {100 * tf_wers[0]:.0f}% -> {100 * tf_wers[-1]:.0f}%.",
        "",
        f"Scored by `olmoasr eval`'s short form (greedy, Whisper English normaliser; {engine}):",
        "",
        "| held-out set (never trained on) | utterances | words | greedy WER (S/D/I) | distinct outputs |",
        "|---|---|---|---|---|",
    ]
    for label, row in (("training sentences, another voice", seen), ("new sentences", new)):
        lines.append(f"| {label} | {row['scored']} | {row['reference_words']} | **{row['wer']:.1f}%** "
                     f"({row['substitutions']}/{row['deletions']}/{row['insertions']}) | "
                     f"{distinct_outputs(work / 'eval', row)} |")  # fmt: skip
    lines += [
        "",
        "The first set separates listening from memorised text: its sentences were all trained on, so a decoder "
        "that recites training text without listening scores near 100% there (it picks another sentence), "
        "and one that listens scores near its teacher-forced WER. The second set adds generalising to new text. "
        "Distinct outputs: how many different texts the model gave those clips (one text for every clip: it "
        "does not listen).",
    ]
    if device != "cuda":
        lines += [
            "",
            "GPU figure (`python benchmarks/proof_train.py --device cuda`: small, bf16, 1500 steps x 64 on 3000 "
            "utterances; target <= 10% on new sentences): **not measured** — no GPU on this machine (`--dry-run` "
            "runs that preset's code path on CPU; tests/train/test_gpu_paths.py checks it).",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="proof_work", help="Folder for the corpus, segments and the run.")
    parser.add_argument("--utterances", type=int, default=3000)
    parser.add_argument("--device", default="cpu", choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, help="Optimizer steps (preset: cpu 60, cuda 1500).")
    parser.add_argument("--batch", type=int, help="Segments per step (preset: cpu 8, cuda 64).")
    parser.add_argument("--lr", type=float, help="Peak learning rate (preset: cpu 2e-3, cuda 1e-3).")
    parser.add_argument("--config", help="micro (d=128 here) or a shipped size (preset: cpu micro, cuda small).")
    parser.add_argument("--workers", type=int, help="Loader workers (preset: cpu 1, cuda 8).")
    parser.add_argument("--heldout", type=int, default=150, help="Utterances in the seen-text/new-voice set.")
    parser.add_argument("--no-write", action="store_true", help="Do not write benchmarks/RESULTS.md.")
    parser.add_argument("--section", default="proof_train", help="RESULTS.md section to (re)write.")
    parser.add_argument("--note", default="", help="A paragraph added to the section (what the figures show).")
    parser.add_argument("--dry-run", action="store_true",
                        help="The cuda preset's code path (config, bf16, loader workers, in-loop and final eval) on "
                             "CPU with a micro model, 2 steps and a tiny corpus; writes nothing.")  # fmt: skip
    args = parser.parse_args()
    preset = {**PRESETS[args.device], **{k: v for k, v in vars(args).items() if k in PRESETS["cpu"] and v is not None}}
    device, dims, max_tokens = args.device, MICRO_DIMS, None
    if args.dry_run:
        preset = {**PRESETS["cuda"], "steps": 2, "batch": 2, "workers": 1}
        device, dims, max_tokens = "cpu", DRY_RUN_DIMS, 8
        args.utterances, args.heldout, args.no_write = min(args.utterances, 24), min(args.heldout, 4), True

    if device == "cuda":
        import torch

        if not torch.cuda.is_available():  # before minutes of corpus synthesis
            raise SystemExit(f"proof_train.py: --device cuda: {NO_CUDA}")
    from olmoasr.evaluation import DecodeSettings, EvalOptions, evaluate
    from olmoasr.pipeline.prep_jsonl import prep_jsonl
    from olmoasr.pipeline.prep_segment import prep_segment
    from olmoasr.synth.corpus import make_corpus
    from olmoasr.train import load_config, train

    work = Path(args.work)
    corpus = make_corpus(work / "corpus", n_utterances=args.utterances, seed=0, show_progress=False)
    prep_jsonl(corpus.raw_dir, work / "docs", show_progress=False)
    prep_segment(work / "docs", work / "segs", show_progress=False)
    seen_manifest = seen_text_new_voice(work / "corpus", work / "heldout", args.heldout)
    steps = preset["steps"]
    overrides = {"data": str(work / "segs"), "out": str(work / "run"), "train_steps": steps,
                 "train_batch_size": preset["batch"], "eff_batch_size": preset["batch"], "lr": preset["lr"],
                 "device": device, "precision": preset["precision"], "num_workers": preset["workers"],
                 "run_eval": True, "eval_data": str(corpus.eval_manifest), "eval_freq": steps, "eval_batch_size": 20,
                 "eval_sample_len": max_tokens or 0, "train_log_freq": min(5, steps),
                 "ckpt_freq": max(1, steps // 2), "resume": "never"}  # fmt: skip
    if preset["config"] == "micro" or args.dry_run:
        overrides["dims"] = dims
    run_dir, eval_dir = work / "run", work / "eval"
    export = run_dir / "export.pt"
    if not export.exists():  # a finished run (and its eval) is reused: re-running only re-reports
        start = time.perf_counter()
        export = Path(train(load_config(preset["config"], overrides)).export)
        (run_dir / "wall_minutes.txt").write_text(f"{(time.perf_counter() - start) / 60:.2f}\n")
    if not (eval_dir / "results.json").exists():
        options = EvalOptions(batch_size=20, output_dir=str(eval_dir), bootstrap_draws=0,
                              decode=DecodeSettings(sample_len=max_tokens))  # fmt: skip
        evaluate(str(export), manifests=[seen_manifest, corpus.eval_manifest], device=device, options=options,
                 show_progress=False)  # fmt: skip
    body = report(work, corpus.stats, device, preset["config"])
    if args.note:
        body += "\n\n" + args.note
    print(body)
    if not args.no_write:
        write_section(args.section, body)


if __name__ == "__main__":
    main()
