"""Choosing the quickstart's fine-tune: tiny.en fine-tuned on the quickstart's training mix with its own train
config, for several (steps, lr); held-out WER on the quickstart's held-out pairs and on real LibriVox speech.

    olmoasr quickstart qs/                                    # once: builds the mix and the held-out manifest
    python benchmarks/proof_quickstart.py --quickstart qs/ --grid 30:3e-6,30:1e-5,60:1e-5

Each configuration trains in its own folder under --work (kept: a re-run only evaluates what is missing),
with the config `olmoasr quickstart` writes (olmoasr.quickstart.data.write_train_config) and the steps and
lr of the grid point; both evals are `olmoasr eval --manifest` with the quickstart's decoding options. The
criterion (issue 16): held-out WER falls, LibriVox WER rises by at most one point.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import write_section  # noqa: E402
from benchmarks.proof_finetune import ALLOWED_LIBRIVOX_RISE, LIBRIVOX_DIR, librivox_manifest  # noqa: E402


def evaluate(model: str, manifest: Path, out_dir: Path, max_new_tokens: int, engine: str) -> dict:
    """`olmoasr eval` as the quickstart runs it (skipped when out_dir already holds results); the set's row."""
    from olmoasr.cli.main import run

    if not (out_dir / "results.json").exists():
        argv = ["eval", "--model", model, "--manifest", str(manifest), "-o", str(out_dir), "--batch-size", "8",
                "--max-new-tokens", str(max_new_tokens), "--device", "cpu", "--bootstrap", "0", "-q",
                "--engine", engine]  # fmt: skip
        if run(argv) != 0:
            raise SystemExit(f"eval failed: {' '.join(argv)}")
    results = json.loads((out_dir / "results.json").read_text())
    (row,) = results["sets"]
    return {**row, "engine": f"{results.get('engine', 'torch')} {results.get('dtype', '')}".strip()}


def fine_tune(quickstart: Path, run_dir: Path, steps: int, lr: float, base_model: str) -> tuple[Path, float]:
    """The quickstart's fine-tune with `steps` and `lr`; returns the export and the training minutes."""
    from olmoasr.quickstart import data
    from olmoasr.quickstart.layout import STAGE_DIRS
    from olmoasr.train import load_config, train

    export, minutes_file = run_dir / "export.pt", run_dir / "minutes.txt"
    if not export.exists():
        config_path = run_dir / "train_finetune.yaml"
        run_dir.mkdir(parents=True, exist_ok=True)
        data.write_train_config(config_path, "finetune", "cpu", base_model)
        overrides = {"data": str(quickstart / STAGE_DIRS["sample_mix"]), "out": str(run_dir),
                     "train_steps": steps, "ckpt_freq": steps, "lr": lr, "resume": "never"}  # fmt: skip
        start = time.perf_counter()
        train(load_config(config_path, overrides))
        minutes_file.write_text(f"{(time.perf_counter() - start) / 60:.2f}\n")
    return export, float(minutes_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quickstart", required=True, help="A folder `olmoasr quickstart` has run in.")
    parser.add_argument("--work", default="benchmarks/.work/quickstart_finetune")
    parser.add_argument("--grid", default="30:3e-6,30:1e-5,60:1e-5", help="steps:lr points, comma-separated.")
    parser.add_argument("--model", default="tiny.en-offline")
    parser.add_argument("--librivox", default=LIBRIVOX_DIR)
    parser.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "torch", "ctranslate2"),
        help="Decoding engine of every eval (auto, as the quickstart: CTranslate2 when installed).",
    )
    parser.add_argument("--no-write", action="store_true", help="Do not write benchmarks/RESULTS.md.")
    parser.add_argument("--note", default="", help="A paragraph added to the section (what the figures show).")
    args = parser.parse_args()

    from olmoasr.quickstart import data
    from olmoasr.quickstart.layout import STAGE_DIRS
    from olmoasr.quickstart.walk import EVAL_MAX_TOKENS

    quickstart, work = Path(args.quickstart), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    heldout = quickstart / STAGE_DIRS["heldout"] / data.EVAL_MANIFEST
    librivox = librivox_manifest(Path(args.librivox), work / "librivox.jsonl")
    tag = "" if args.engine == "auto" else f"_{args.engine}"  # each engine's evals in their own folders
    before = {name: evaluate(args.model, manifest, work / f"eval_{name}_before{tag}", EVAL_MAX_TOKENS, args.engine)
              for name, manifest in (("heldout", heldout), ("librivox", librivox))}  # fmt: skip
    rows = []
    for point in args.grid.split(","):
        steps, lr = int(point.split(":")[0]), float(point.split(":")[1])
        run_dir = work / f"run_{steps}_{lr:g}"
        export, minutes = fine_tune(quickstart, run_dir, steps, lr, args.model)
        after = {name: evaluate(str(export), manifest, run_dir / f"eval_{name}{tag}", EVAL_MAX_TOKENS, args.engine)
                 for name, manifest in (("heldout", heldout), ("librivox", librivox))}  # fmt: skip
        rows.append((steps, lr, minutes, after))
        print(steps, lr, {k: v["wer"] for k, v in after.items()}, flush=True)

    def cell(row: dict, base: dict | None = None) -> str:
        change = f" ({row['wer'] - base['wer']:+.2f})" if base else ""
        return f"{row['wer']:.2f}%{change} (S/D/I {row['substitutions']}/{row['deletions']}/{row['insertions']})"

    lines = [
        f"`{args.model}` fine-tuned with the quickstart's train config (batch 4, warm-up 10%, linear decay, fp32 "
        f"CPU) on its {data.TRAIN_SHARD} training mix; WER by `olmoasr eval --manifest` (greedy short form, "
        f"--max-new-tokens {EVAL_MAX_TOKENS}, {before['heldout']['engine']} engine) on the quickstart's held-out "
        f"segments "
        f"({before['heldout']['reference_words']} words) and the 5 LibriVox utterances "
        f"({before['librivox']['reference_words']} words).",
        "",
        f"Before: held-out {cell(before['heldout'])}, LibriVox {cell(before['librivox'])}.",
        "",
        "| steps | lr | training min | held-out WER after | LibriVox WER after | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for steps, lr, minutes, after in rows:
        held, lv = after["heldout"], after["librivox"]
        passed = (held["wer"] < before["heldout"]["wer"]
                  and lv["wer"] - before["librivox"]["wer"] <= ALLOWED_LIBRIVOX_RISE)  # fmt: skip
        lines.append(f"| {steps} | {lr:g} | {minutes:.1f} | {cell(held, before['heldout'])} | "
                     f"{cell(lv, before['librivox'])} | **{'PASS' if passed else 'FAIL'}** |")  # fmt: skip
    lines += ["", "Training minutes are wall time on the machine above (compare rows only roughly when it is shared)."]
    if args.note:
        lines += ["", args.note]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("proof_quickstart" + tag, body)


if __name__ == "__main__":
    main()
