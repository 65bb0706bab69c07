"""Proof of learning: synthesise a speech corpus, prep it, train from scratch, report held-out greedy WER.

    python benchmarks/proof_train.py --utterances 400 --steps 60       # ~12 min on 2 busy CPU cores
    python benchmarks/proof_train.py --utterances 3000 --steps 3000 --config small --device cuda

The held-out utterances are single sentences whose texts never occur in training (olmoasr.synth).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import write_section  # noqa: E402

SMALL_DIMS = {"n_audio_state": 128, "n_audio_head": 2, "n_audio_layer": 2,
              "n_text_state": 128, "n_text_head": 2, "n_text_layer": 2}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="proof_work", help="Folder for the corpus, segments and the run.")
    parser.add_argument("--utterances", type=int, default=400)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--config", default="micro", help="micro (d=128 here) or a shipped size, e.g. tiny.")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-write", action="store_true", help="Do not write benchmarks/RESULTS.md.")
    parser.add_argument("--section", default="proof_train", help="RESULTS.md section to (re)write.")
    args = parser.parse_args()

    from olmoasr.pipeline.prep_jsonl import prep_jsonl
    from olmoasr.pipeline.prep_segment import prep_segment
    from olmoasr.synth.corpus import make_corpus
    from olmoasr.train import load_config, train

    work = Path(args.work)
    corpus = make_corpus(work / "corpus", n_utterances=args.utterances, seed=0, show_progress=False)
    prep_jsonl(corpus.raw_dir, work / "docs", show_progress=False)
    prep_segment(work / "docs", work / "segs", show_progress=False)
    overrides = {"data": str(work / "segs"), "out": str(work / "run"), "train_steps": args.steps,
                 "train_batch_size": args.batch, "eff_batch_size": args.batch, "lr": args.lr, "device": args.device,
                 "run_eval": True, "eval_data": str(corpus.eval_manifest), "eval_freq": args.steps,
                 "eval_batch_size": 20, "train_log_freq": min(5, args.steps), "ckpt_freq": max(1, args.steps // 2),
                 "num_workers": 1, "resume": "never"}  # fmt: skip
    if args.config == "micro":
        overrides["dims"] = SMALL_DIMS
    start = time.perf_counter()
    result = train(load_config(args.config, overrides))
    minutes = (time.perf_counter() - start) / 60
    records = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if r["kind"] == "train"]
    body = (
        f"{args.config} model, {args.steps} steps x {args.batch} segments on {corpus.stats['train_utterances']} "
        f"synthetic utterances ({corpus.stats['train_seconds'] / 60:.0f} min of speech), {minutes:.1f} min wall: "
        f"train loss {losses[0]['train/loss']:.2f} -> {losses[-1]['train/loss']:.2f}; greedy WER on "
        f"{corpus.stats['eval_utterances']} held-out utterances **{100 * result.best_eval_wer:.1f}%**."
    )
    print(body)
    if not args.no_write:
        write_section(args.section, body)


if __name__ == "__main__":
    main()
