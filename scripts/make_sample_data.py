"""Regenerate olmoasr's synthetic data (needs `apt-get install flite espeak-ng`).

python scripts/make_sample_data.py sample                      # rewrites olmoasr/data/sample_shard.tar.gz
python scripts/make_sample_data.py corpus OUT --utterances 3000 # larger corpus + held-out eval manifest
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from olmoasr.console import stdout_console
from olmoasr.errors import OlmoasrError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARCHIVE = REPO / "olmoasr" / "data" / "sample_shard.tar.gz"

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.command()
def sample(
    out: Path = typer.Option(DEFAULT_ARCHIVE, "--out", "-o", help="Archive to write."),
    seed: int = typer.Option(20250625, help="Seed for pair ids, pauses and machine-caption errors."),
) -> None:
    """Rebuild the packaged sample shard archive (~20 pairs, deterministic).

    Example: python scripts/make_sample_data.py sample
    """
    from olmoasr.synth.sample_shard import build_sample_archive
    from olmoasr.synth.speech import require_engine

    require_engine("flite")
    require_engine("espeak-ng")
    entries = build_sample_archive(out, seed=seed)
    duration = sum(float(e["duration_s"]) for e in entries)
    kinds: dict[str, int] = {}
    for e in entries:
        kinds[str(e["kind"])] = kinds.get(str(e["kind"]), 0) + 1
    summary = ", ".join(f"{k} {n}" for k, n in kinds.items())
    stdout_console().print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(entries)} pairs, {duration:.0f} s of audio ({summary})"
    )


@app.command()
def corpus(
    out: Path = typer.Argument(..., help="Output folder (raw shards + eval/)."),
    utterances: int = typer.Option(3000, help="Number of synthesised sentences in all (training + held-out)."),
    seed: int = typer.Option(0, help="Seed for texts, voices and pauses."),
    holdout_fraction: float = typer.Option(0.05, help="Fraction of utterances kept aside for evaluation."),
    pairs_per_shard: int = typer.Option(100, help="Pairs per raw shard folder (one task each)."),
    workers: int = typer.Option(2, help="Synthesis processes."),
) -> None:
    """Build a larger synthetic corpus in the raw shard layout plus a held-out eval manifest.

    Example: python scripts/make_sample_data.py corpus data/synth --utterances 3000
    """
    from olmoasr.synth.corpus import make_corpus

    summary = make_corpus(
        out,
        n_utterances=utterances,
        seed=seed,
        holdout_fraction=holdout_fraction,
        pairs_per_shard=pairs_per_shard,
        workers=workers,
    )
    stdout_console().print(summary.describe())


def main() -> None:
    try:
        app()
    except OlmoasrError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
