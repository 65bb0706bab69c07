"""Executor scaling: shards/s with 1 and 2 workers on the local process pool and on Ray, and Ray's
overhead per shard relative to a typical shard's processing time (issue 8: must stay below 5%).

The work is the real `tag doc` stage (casing, repeating_lines, text_lang) on synthetic document shards.

    python benchmarks/bench_executor.py [--shards 8 --records 4000] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from _results import write_section
from bench_tag_filter import synthetic_document

from olmoasr.io.jsonl import JsonlWriter
from olmoasr.pipeline.executor import LocalExecutor
from olmoasr.pipeline.ray_executor import RayExecutor
from olmoasr.pipeline.tagging import tag_documents

CONFIG = "casing_repeats_lang"


def write_shards(root: Path, shards: int, records: int) -> Path:
    rng = random.Random(0)
    src = root / "docs"
    for s in range(shards):
        with JsonlWriter(src / f"shard_{s:05d}.jsonl.gz") as writer:
            writer.write_many(synthetic_document(rng, s * records + i, captions=16) for i in range(records))
    config = root / f"{CONFIG}.yaml"
    config.write_text(f"name: {CONFIG}\npipeline:\n  - tag: casing\n  - tag: repeating_lines\n  - tag: text_lang\n")
    return src


def timed_run(src: Path, out: Path, config: Path, executor) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    tag_documents(src, out, str(config), executor=executor, show_progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = write_shards(root, args.shards, args.records)
        config = root / f"{CONFIG}.yaml"
        rows = []
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            # Warm-up: Ray starts its worker processes on first use (once per worker, not per shard).
            timed_run(src, root / "warmup", config, RayExecutor(cpus_per_task=1, show_progress=False))
            for workers in (1, 2):
                local = timed_run(src, root / "out_local", config, LocalExecutor(workers=workers, show_progress=False))
                # Ray schedules by CPU slots: num_cpus per task = 2 / workers gives the same concurrency.
                remote = timed_run(
                    src,
                    root / "out_ray",
                    config,
                    RayExecutor(cpus_per_task=2 / workers, show_progress=False),
                )
                rows.append((workers, local, remote))
        finally:
            ray.shutdown()

    shard_time_1 = rows[0][1] / args.shards  # typical processing time of one shard, one worker
    lines = [
        f"`tag doc` (casing, repeating_lines, text_lang) on {args.shards} shards x {args.records:,} documents; "
        f"a typical shard takes {shard_time_1:.2f} s on one worker.\n",
        "| workers | local pool: shards/s | Ray: shards/s | Ray overhead per shard | overhead / shard time |",
        "|---:|---:|---:|---:|---:|",
    ]
    for workers, local, remote in rows:
        overhead = (remote - local) * workers / args.shards
        lines.append(
            f"| {workers} | {args.shards / local:.2f} | {args.shards / remote:.2f} | {overhead * 1000:.0f} ms "
            f"| {100 * overhead / shard_time_1:.1f}% |"
        )
    lines.append(
        "\nRay overhead = (Ray wall time - local wall time) x workers / shards; it includes Ray task dispatch, "
        "object transfer of the stage and results, and the per-task retry wrapper (the local Ray instance "
        "itself is started before timing, as a cluster would be)."
    )
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(
            "bench_executor", "## Executor scaling: local pool vs Ray (`benchmarks/bench_executor.py`)\n\n" + body
        )


if __name__ == "__main__":
    main()
