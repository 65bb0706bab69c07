"""Which padding should training use? A micro model per `feature_padding` policy, from scratch, on a few
distinct spoken sentences; then every clip decoded as each command decodes it.

    python benchmarks/proof_feature_padding.py             # 6 clips; mel/audio/mixed x 80 steps, mixed x 160
    python benchmarks/proof_feature_padding.py --runs mixed:120 --no-write

Decoders per clip: `transcribe` (sequential, the spectrogram padded with 0.0 after the content, like
openai-whisper), `transcribe --batched`, and `eval`'s short form with each padding convention. A clip
passes when its character error rate is <= 20% and its own reference is the closest of all references.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import write_section  # noqa: E402

MAX_CER = 0.20
DECODERS = ("transcribe", "transcribe --batched", "eval (audio padding)", "eval (mel padding)")


def decode_clips(export: Path, clips: list[dict], root: Path) -> dict[str, list[str]]:
    """Each clip's text from every decoder, with the commands' default options."""
    import torch

    import olmoasr
    from olmoasr.audio import load_audio
    from olmoasr.evaluation import DecodeSettings, ModelRecognizer
    from olmoasr.model.batched import transcribe_batched
    from olmoasr.model.transcribe import transcribe

    model = olmoasr.load_model(str(export), device="cpu")
    audio = [load_audio(root / clip["audio"]) for clip in clips]
    texts: dict[str, list[str]] = {}
    with torch.inference_mode():
        texts["transcribe"] = [transcribe(model, a, language="en")["text"].strip() for a in audio]
        batched = transcribe_batched(model, audio, language="en")
        texts["transcribe --batched"] = [r["text"].strip() for r in batched]
    for padding in ("audio", "mel"):
        recognizer = ModelRecognizer(model, DecodeSettings(short_feature_padding=padding))
        texts[f"eval ({padding} padding)"] = recognizer.short_form(audio)
    return texts


def score(references: list[str], hypotheses: list[str]) -> tuple[int, float]:
    """(clips passing, mean CER) after the Whisper English normaliser."""
    from olmoasr.text.normalize import normalize_english
    from olmoasr.text.wer import character_error_rate

    refs = [normalize_english(r) for r in references]
    passed, total = 0, 0.0
    for i, hyp in enumerate(normalize_english(h) for h in hypotheses):
        cers = [character_error_rate(ref, hyp) for ref in refs]
        total += cers[i]
        passed += cers[i] <= MAX_CER and cers[i] == min(cers)
    return passed, total / len(refs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="benchmarks/.work/feature_padding")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--runs", default="mel:80,audio:80,mixed:80,mixed:160", help="policy:steps, comma-separated.")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seeds", default="0", help="Training seeds (comma-separated); each is one run.")
    parser.add_argument("--no-write", action="store_true", help="Do not write benchmarks/RESULTS.md.")
    args = parser.parse_args()

    from olmoasr.pipeline.prep_jsonl import prep_jsonl
    from olmoasr.pipeline.prep_segment import prep_segment
    from olmoasr.synth.clips import make_clip_set
    from olmoasr.train import load_config, train

    work = Path(args.work)
    clip_set = make_clip_set(work / "clips", n_clips=args.clips)
    prep_jsonl(clip_set.raw_dir, work / "docs", workers=1, show_progress=False)
    prep_segment(work / "docs", work / "segs", workers=1, show_progress=False)
    clips = [json.loads(line) for line in clip_set.manifest.read_text().splitlines()]
    references = [clip["text"] for clip in clips]

    rows = []
    for policy, steps in (run.split(":") for run in args.runs.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            run = work / f"run_{policy}_{steps}_{seed}"
            overrides = {"data": str(work / "segs"), "out": str(run), "train_steps": int(steps), "lr": args.lr,
                         "eff_batch_size": args.clips, "train_batch_size": args.clips, "feature_padding": policy,
                         "seed": seed, "device": "cpu", "ckpt_freq": steps, "train_log_freq": 10,
                         "resume": "never", "warmup_fraction": 0.1}  # fmt: skip
            if not (run / "export.pt").exists():  # a finished run is reused
                start = time.perf_counter()
                train(load_config("micro", overrides))
                (run / "minutes.txt").write_text(f"{(time.perf_counter() - start) / 60:.2f}\n")
            minutes = float((run / "minutes.txt").read_text())
            metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            loss = [m["train/loss"] for m in metrics if m["kind"] == "train"][-1]
            texts = decode_clips(run / "export.pt", clips, clip_set.manifest.parent)
            (run / "decoded.json").write_text(json.dumps(texts, indent=1))
            scores = {name: score(references, texts[name]) for name in DECODERS}
            rows.append((policy, steps, seed, loss, minutes, scores))
            print(policy, steps, seed, scores, flush=True)

    lines = [
        f"Micro model (d=64, 2+2 layers, 30 s windows) trained from scratch on {args.clips} distinct flite "
        f"sentences (one caption each, ~3 s); every step is all {args.clips} clips, lr {args.lr:g} with 10% "
        "warm-up, fp32 CPU, one run per row. A cell: clips that come back with their own text (CER <= 20% and "
        f"the own reference closest) out of {args.clips}, and the mean CER. Training minutes are wall time on a "
        "shared, heavily loaded machine (compare rows only roughly).",
        "",
        f"| feature_padding | steps | seed | final loss | train min | {' | '.join(DECODERS)} |",
        "|---|---|---|---|---|" + "---|" * len(DECODERS),
    ]
    for policy, steps, seed, loss, minutes, scores in rows:
        cells = " | ".join(f"{scores[d][0]}/{args.clips} ({100 * scores[d][1]:.0f}%)" for d in DECODERS)
        lines.append(f"| {policy} | {steps} | {seed} | {loss:.3f} | {minutes:.1f} | {cells} |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("proof_feature_padding", body)


if __name__ == "__main__":
    main()
