"""Throughput of `tag doc` and `filter` per core, with peak memory, against the original's approach.

    python benchmarks/bench_tag_filter.py                      # 100k documents / 100k segments, writes RESULTS.md
    python benchmarks/bench_tag_filter.py --records 20000 --no-write   # quick look

Every measurement runs in a fresh child process with one worker (so records/s is per core and the peak RSS
is that process's own). "Original" is a faithful re-implementation of the original scripts' approach:
the whole gzip file read and decompressed in memory, stdlib `json`, webvtt-py parsing (the manual transcript
parsed twice and the machine transcript parsed for every record, as `data_tagger.py` does), a fresh
`EnglishTextNormalizer` per record for `edit_dist`, per-record dispatch of the filter functions by the value's
Python type (with `ref_value` mapped to `reference_value` so that its filters really filter), and the whole
output list gzip-compressed at the end. It needs `pip install webvtt-py`; without it that column is skipped.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _results import write_section

from olmoasr.io.jsonl import JsonlWriter

WORDS = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "it",
    "that",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
]
NO_EDIT_CONFIG = (
    "name: main_tagging_no_edit_dist\npipeline:\n  - tag: casing\n  - tag: repeating_lines\n  - tag: text_lang\n"
)


def _t(ms: int) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 11))]
    return " ".join(words).capitalize() + rng.choice([".", ",", "?", ""])


def synthetic_document(rng: random.Random, index: int, captions: int) -> dict:
    texts = [_sentence(rng) for _ in range(captions)]
    style = rng.random()
    if style < 0.1:
        texts = [t.upper() for t in texts]
    elif style < 0.25:
        texts = [t.lower() for t in texts]
    manual = ["WEBVTT\n\n"]
    machine = ["WEBVTT\n\n"]
    for i, text in enumerate(texts):
        start, end = i * 2500, i * 2500 + 2300
        manual.append(f"{_t(start)} --> {_t(end)}\n{text}\n\n")
        spoken = text.lower().strip(".,?")
        if rng.random() < 0.1:
            spoken = " ".join(rng.choice(WORDS) for _ in spoken.split())
        previous = texts[i - 1].lower().strip(".,?") if i else ""
        machine.append(
            f"{_t(start)} --> {_t(end)}\n{previous}\n{spoken}\n\n"
            if previous
            else f"{_t(start)} --> {_t(end)}\n{spoken}\n\n"
        )
        machine.append(f"{_t(end)} --> {_t(end + 10)}\n{spoken}\n\n")
    return {
        "subtitle_file": f"raw/shard_00000/p{index}/transcript_p{index}.vtt",
        "content": "".join(manual),
        "length": captions * 2.5,
        "audio_file": f"raw/shard_00000/p{index}/audio_p{index}.m4a",
        "id": f"p{index:07d}",
        "mach_content": "".join(machine),
    }


def synthetic_segment(rng: random.Random, index: int) -> dict:
    captions = [_sentence(rng) for _ in range(rng.randint(3, 8))]
    if rng.random() < 0.1:
        captions[0] = "John Smith : " + captions[0]
    content = "WEBVTT\n\n" + "".join(
        f"{_t(i * 3000)} --> {_t(i * 3000 + 2800)}\n{c}\n\n" for i, c in enumerate(captions)
    )
    text = " ".join(captions).lower()
    return {
        "subtitle_file": f"segs/p{index // 4}/{index}.vtt",
        "seg_content": content,
        "text_timestamp": "00:00:00,000_00:00:29,000",
        "audio_timestamp": "00:00:00,000_00:00:30,000",
        "norm_end": "00:00:29.000",
        "id": f"p{index // 4:07d}",
        "seg_id": f"p{index // 4:07d}_{index % 4}",
        "audio_file": f"audio/shard_00000/shard_00000-{index // 1000:06d}.tar",
        "ts_mode": True,
        "no_ts_mode": True,
        "only_no_ts_mode": False,
        "num_tokens_ts_mode": 120,
        "num_tokens_no_ts_mode": 100,
        "seg_text": text,
        "mach_seg_text": text,
        "audio_lang": "en" if rng.random() < 0.87 else "de",
        "text_lang": "en" if rng.random() < 0.95 else "fr",
        "casing": rng.choices(["mixed", "lower", "upper"], [0.8, 0.14, 0.06])[0],
        "repeating_lines": rng.random() < 0.3,
        "edit_dist": round(rng.random() * 0.9, 4),
        "seg_edit_dist": round(rng.random() * 0.9, 4),
    }


def write_inputs(root: Path, records: int, edit_records: int, captions: int, seed: int = 0) -> dict[str, Path]:
    rng = random.Random(seed)
    paths = {
        "docs": root / "docs" / "shard_00000.jsonl.gz",
        "edit_docs": root / "edit_docs" / "shard_00000.jsonl.gz",
        "segs": root / "segs" / "shard_00000.jsonl.gz",
    }
    with JsonlWriter(paths["docs"]) as docs, JsonlWriter(paths["edit_docs"]) as edit_docs:
        for i in range(records):
            record = synthetic_document(rng, i, captions)
            docs.write(record)
            if i < edit_records:
                edit_docs.write(record)
    with JsonlWriter(paths["segs"]) as segs:
        segs.write_many(synthetic_segment(rng, i) for i in range(records))
    (root / "no_edit.yaml").write_text(NO_EDIT_CONFIG)
    return paths


# ------------------------------------------------------------------------------------------- the original's approach


def _original_read(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def _original_write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(b"\n".join(json.dumps(r).encode("utf-8") for r in records)))


def original_parse(content: str, name: str = ".vtt") -> list:
    """webvtt-py captions. The original parses VTT only (its SRT branch is broken, spec §1.4); SRT is read
    with webvtt-py's SRT reader here so that the original's approach tags the same documents."""
    import webvtt

    if name.endswith(".srt"):
        return list(webvtt.from_buffer(io.StringIO(content), format="srt"))
    return list(webvtt.from_string(content))


def original_man_text(content: str, name: str) -> str:
    return " ".join(c.text.strip() for c in original_parse(content, name))


def original_mach_text(content: str) -> str:
    """Spec §3: skip a duplicated first pair, keep single-line cues, and the last line of the last cue."""
    captions = original_parse(content)
    start = 2 if len(captions) > 1 and captions[0].text == captions[1].text else 0
    kept = [c.text for c in captions[start:-1] if "\n" not in c.text]
    if captions:
        kept.append(captions[-1].text.split("\n")[-1])
    return " ".join(kept)


def original_tag(path: Path, out: Path, tags: list[str]) -> int:
    import jiwer
    import pycld2
    from whisper_normalizer.english import EnglishTextNormalizer

    upper, lower = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), set("abcdefghijklmnopqrstuvwxyz")

    def casing(d):
        dist = {"upper": 0, "lower": 0, "mixed": 0}
        for c in d["content_iter"]:
            chars = set(c.text)
            up, lo = bool(upper & chars), bool(lower & chars)
            dist["mixed" if (up and lo) or not c.text.strip() else "upper" if up else "lower"] += 1
        best = max(dist.values())
        keys = [k for k, v in dist.items() if v == best]
        if len(keys) > 1:
            return "mixed" if "mixed" in keys else keys[0]
        if keys[0] == "lower" and dist["mixed"] / dist["lower"] > 0.6:
            return "mixed"
        if keys[0] == "mixed" and dist["upper"] / dist["mixed"] > 0.6:
            return "upper"
        return keys[0]

    def repeating(d):
        prev = None
        for c in d["content_iter"]:
            if prev is not None and len(prev.split()) > 1 and len(c.text.split()) > 1 and prev in c.text:
                return True
            prev = c.text
        return False

    def text_lang(d):
        try:
            return pycld2.detect(d["man_text"])[2][0][1]
        except Exception:
            return "en"

    def edit_dist(d):
        normalizer = EnglishTextNormalizer()  # the original builds one per record
        man_text, mach_text = d["man_text"], d["mach_text"]
        man, mach = normalizer(man_text), normalizer(mach_text)
        if man:
            return jiwer.wer(man, mach)
        if not man_text:
            return jiwer.wer(mach or mach_text, "") if (mach or mach_text) else 0.0
        return jiwer.wer(man_text, mach)

    functions = {"casing": casing, "repeating_lines": repeating, "text_lang": text_lang, "edit_dist": edit_dist}
    records = _original_read(path)
    for record in records:
        d = {
            "content_iter": original_parse(record["content"], record["subtitle_file"]),
            "man_text": original_man_text(record["content"], record["subtitle_file"]),
            "mach_text": original_mach_text(record["mach_content"]) if record.get("mach_content") else "",
        }
        for tag in tags:
            record[tag] = functions[tag](d)
    _original_write(out, records)
    return len(records)


def original_filter(path: Path, out: Path, steps: list[dict]) -> int:
    import webvtt

    label = re.compile(r"(?:[A-Z][^\s:]*\s)+:|&nbsp;|&amp;|&lt;|&gt;|=|\.\.\.|\\h")

    def filter_bool(value, reference_value):
        return value == reference_value

    def filter_cat(value, reference_value, comparison="in"):
        values = [reference_value] if isinstance(reference_value, str) else reference_value
        return (value in values) if comparison == "in" else (value not in values)

    def filter_num(value, lower_bound=None, upper_bound=None, inclusive=True):
        ok = True
        if lower_bound is not None:
            ok &= value >= lower_bound if inclusive else value > lower_bound
        if upper_bound is not None:
            ok &= value <= upper_bound if inclusive else value < upper_bound
        return ok

    def clean(record):
        captions = webvtt.from_string(record["seg_content"])
        parts = ["WEBVTT\n\n"]
        for c in captions:
            parts.append(f"{c.start} --> {c.end}\n{label.sub(' ', c.text)}\n\n")
        record["seg_content"] = "".join(parts)

    kept = []
    records = _original_read(path)
    for record in records:
        keep = True
        for step in steps:
            tag = step["tag"]
            if tag == "seg_content":
                clean(record)
                continue
            kwargs = {("reference_value" if k == "ref_value" else k): v for k, v in step.items() if k != "tag"}
            value = record.get(tag)
            if isinstance(value, bool):
                keep = filter_bool(value, **kwargs)
            elif isinstance(value, str):
                keep = filter_cat(value, **kwargs)
            elif isinstance(value, int | float):
                keep = filter_num(value, **kwargs)
            if not keep:
                break
        if keep:
            kept.append(record)
    _original_write(out, kept)
    return len(records)


# ------------------------------------------------------------------------------------------- measurements


def peak_rss_mb() -> float:
    """This process's own peak RSS. Linux keeps `ru_maxrss` across exec, so a child started from a big parent
    would report the parent's size; the memory map's high-water mark (`VmHWM`) starts afresh at exec."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(job: str, input_path: str, out: str, config: str) -> None:
    """One measurement, in its own process: prints {"records", "seconds", "peak_rss_mb"}."""
    import yaml

    from olmoasr.pipeline.filtering import filter_records
    from olmoasr.pipeline.tagging import tag_documents

    if job.startswith("original"):
        import jiwer  # noqa: F401 - imported before the clock starts, like ours
        import pycld2  # noqa: F401
        import webvtt  # noqa: F401
        import whisper_normalizer.english  # noqa: F401

    started = time.perf_counter()
    cpu_started = time.process_time()
    if job == "tag":
        result = tag_documents(input_path, out, config, workers=1, show_progress=False)
        records = result.summary["records"]
    elif job == "filter":
        result = filter_records(input_path, out, config, workers=1, show_progress=False)
        records = result.funnel["input"]["records"]
    elif job == "original_tag":
        tags = [step["tag"] for step in yaml.safe_load(Path(config).read_text())["pipeline"]]
        files = sorted(Path(input_path).glob("*.jsonl.gz"))
        records = sum(original_tag(p, Path(out) / p.name, tags) for p in files)
    else:
        steps = yaml.safe_load(Path(config).read_text())["pipeline"]
        files = sorted(Path(input_path).glob("*.jsonl.gz"))
        records = sum(original_filter(p, Path(out) / p.name, steps) for p in files)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    print(
        json.dumps({"records": records, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_rss_mb()})
    )


def measure(job: str, input_path: Path, out: Path, config: str) -> dict:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", job, str(input_path), str(out), config],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{job} failed: {proc.stderr.strip().splitlines()[-1:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # Per core = per CPU-second of the (single-worker) process: on a shared machine wall time also counts
    # the time other jobs held the core; both are reported.
    result["per_s"] = result["records"] / result["cpu_seconds"]
    result["per_wall_s"] = result["records"] / result["seconds"]
    return result


def first_records(src: Path, dest: Path, n: int) -> Path:
    with JsonlWriter(dest / src.name) as out, gzip.open(src, "rb") as fh:
        for i, line in enumerate(fh):
            if i == n:
                break
            out.write(json.loads(line))
    return dest


def agreement(documents: list[dict], ours_dir: Path, original_dir: Path, tags: list[str]) -> dict[str, Counter]:
    """Per tag, how our value compares with the original's approach on the same document. `edit_dist` is
    split by why: no machine transcript (null in ours), different texts compared (the original's texts come
    from webvtt-py, which leaves entities encoded and keeps the blank line of YouTube's snapshot cues, and its
    rolling-caption rule runs on every machine transcript), or the same texts."""
    from whisper_normalizer.english import EnglishTextNormalizer

    from olmoasr.pipeline.taggers.context import build_context

    normalize = EnglishTextNormalizer()
    theirs = {r["id"]: r for r in _original_read(next(original_dir.glob("*.jsonl.gz")))}
    ours = {r["id"]: r for r in _original_read(next(ours_dir.glob("*.jsonl.gz")))}
    counts: dict[str, Counter] = {tag: Counter() for tag in tags}
    for document in documents:
        mine, other = ours[document["id"]], theirs[document["id"]]
        for tag in tags:
            a, b = mine.get(tag), other.get(tag)
            same = a == b or (isinstance(a, float) and isinstance(b, float) and abs(a - b) < 1e-9)
            if tag != "edit_dist" or same:
                counts[tag]["equal" if same else "differ"] += 1
                continue
            if a is None:
                counts[tag]["null: no machine transcript"] += 1
                continue
            ctx = build_context(document, "document")
            man = original_man_text(document["content"], document["subtitle_file"])
            mach = original_mach_text(document["mach_content"]) if document["mach_content"] else ""
            if normalize(ctx.mach_text or "") != normalize(mach):
                counts[tag]["differ: other machine text"] += 1
            elif normalize(ctx.man_text) != normalize(man):
                counts[tag]["differ: other manual text"] += 1
            else:
                counts[tag]["differ: same texts"] += 1
    return counts


def reference_edit_dists(documents: list[dict]) -> tuple[int, int]:
    """(documents whose `edit_dist` our fast normaliser + rapidfuzz give exactly as whisper-normalizer +
    jiwer do on the same texts, documents compared): the speed-up changes no result."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    from olmoasr.pipeline.taggers.context import build_context
    from olmoasr.pipeline.taggers.edit_dist import manual_machine_wer

    reference = EnglishTextNormalizer()

    def reference_normalize(text: str) -> str:
        return reference(text.replace("<", " ").replace(">", " "))

    equal = compared = 0
    for document in documents:
        ctx = build_context(document, "document")
        if ctx.mach_text is None:
            continue
        compared += 1
        ours = manual_machine_wer(ctx.man_text, ctx.mach_text)
        equal += ours == manual_machine_wer(ctx.man_text, ctx.mach_text, reference_normalize, jiwer.wer)
    return equal, compared


def varied_comparison(root: Path, count: int, repeats: int) -> str:
    """main_tagging on varied documents, ours and the original's approach side by side: each measurement in
    its own one-worker process, the two interleaved `repeats` times, the median CPU-time rate of each."""
    from _varied_documents import varied_documents

    src = root / "varied"
    documents = varied_documents(count)
    with JsonlWriter(src / "shard_00000.jsonl.gz") as out:
        out.write_many(documents)
    main_cfg = str(Path(__file__).resolve().parent.parent / "olmoasr/configs/tagging/main_tagging.yaml")
    ours_runs, original_runs = [], []
    for k in range(repeats):
        ours_runs.append(measure("tag", src, root / f"varied_ours{k}", "main_tagging"))
        original_runs.append(measure("original_tag", src, root / f"varied_original{k}", main_cfg))
        print(
            f"varied round {k + 1}: ours {ours_runs[-1]['per_s']:,.0f} docs/s/core, "
            f"original {original_runs[-1]['per_s']:,.0f}"
        )
    ours = sorted(ours_runs, key=lambda r: r["per_s"])[repeats // 2]
    theirs = sorted(original_runs, key=lambda r: r["per_s"])[repeats // 2]
    tags = ["casing", "repeating_lines", "text_lang", "edit_dist"]
    agreed = agreement(documents, root / "varied_ours0", root / "varied_original0", tags)
    equal, compared = reference_edit_dists(documents)
    rows = [
        f"`python benchmarks/bench_tag_filter.py --varied-only --varied {count} --repeats {repeats}` — "
        f"`tag doc -c main_tagging` (casing, repeating_lines, text_lang, edit_dist) on {count:,} varied documents "
        "(`benchmarks/_varied_documents.py`: 1-300 captions, SRT and VTT, markup and entities, casing ties, "
        "other languages, rolling and plain machine captions, empty or absent machine transcripts). One worker "
        f"per measurement in a fresh process, ours and the original's approach interleaved {repeats} times; "
        "records/s per CPU-second (median), load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| | docs/s/core (CPU time) | wall docs/s | peak RSS |",
        "|---|---:|---:|---:|",
        f"| olmoasr | {ours['per_s']:,.0f} | {ours['per_wall_s']:,.0f} | {ours['peak_rss_mb']:.0f} MB |",
        f"| original's approach | {theirs['per_s']:,.0f} | {theirs['per_wall_s']:,.0f} | "
        f"{theirs['peak_rss_mb']:.0f} MB |",
        f"| **speed-up** | **{ours['per_s'] / theirs['per_s']:.1f}x** | | |",
        "",
        "Every round: ours "
        + ", ".join(f"{r['per_s']:,.0f}" for r in ours_runs)
        + "; original "
        + ", ".join(f"{r['per_s']:,.0f}" for r in original_runs)
        + " docs/s/core; speed-up per round (each pair run back to back) "
        + ", ".join(f"{a['per_s'] / b['per_s']:.1f}x" for a, b in zip(ours_runs, original_runs, strict=True))
        + ".",
        "",
        f"Equal results: on the {compared:,} documents with a machine transcript, `edit_dist` from our normaliser "
        f"and rapidfuzz equals whisper-normalizer + jiwer on the same texts for {equal:,}.",
        "",
        "Same documents against the original's approach, tag by tag (why they differ: `docs/taggers.md`):",
        "",
        "| tag | outcome | documents |",
        "|---|---|---:|",
        *(
            f"| {tag} | {outcome} | {n:,} |"
            for tag, outcomes in agreed.items()
            for outcome, n in sorted(outcomes.items())
        ),
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="synthetic documents and segments")
    parser.add_argument("--edit-records", type=int, default=5_000, help="documents for the edit_dist run")
    parser.add_argument("--original-records", type=int, default=20_000, help="records for the original's runs")
    parser.add_argument("--captions", type=int, default=16, help="captions per synthetic document")
    parser.add_argument("--varied", type=int, default=2_000, help="varied documents for main_tagging side by side")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the varied comparison")
    parser.add_argument("--varied-only", action="store_true", help="run only the varied main_tagging comparison")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--child", nargs=4, metavar=("JOB", "INPUT", "OUT", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    try:
        import webvtt  # noqa: F401

        have_original = True
    except ImportError:
        have_original = False
        print("webvtt-py not installed: skipping the original's approach (pip install webvtt-py)")

    if have_original:
        with tempfile.TemporaryDirectory(prefix="bench_tag_varied_") as tmp:
            varied = varied_comparison(Path(tmp), args.varied, args.repeats)
        print(varied)
        if not args.no_write:
            write_section("bench_tag_varied", varied)
    if args.varied_only:
        return
    with tempfile.TemporaryDirectory(prefix="bench_tag_filter_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        paths = write_inputs(root, args.records, args.edit_records, args.captions)
        print(
            f"inputs: {args.records:,} documents ({args.captions} captions each) and segments "
            f"in {time.perf_counter() - started:.1f} s"
        )
        no_edit, best = str(root / "no_edit.yaml"), "text_heurs_seg_edit_dist_edit_dist"
        main_cfg = str(Path(__file__).resolve().parent.parent / "olmoasr/configs/tagging/main_tagging.yaml")
        best_cfg = str(Path(__file__).resolve().parent.parent / "olmoasr/configs/filtering" / f"{best}.yaml")
        rows = [
            (
                "tag doc: casing, repeating_lines, text_lang",
                "tag",
                paths["docs"].parent,
                no_edit,
                "original_tag",
                no_edit,
            ),
            (
                "tag doc: main_tagging (+ edit_dist)",
                "tag",
                paths["edit_docs"].parent,
                "main_tagging",
                "original_tag",
                main_cfg,
            ),
            (f"filter: {best}", "filter", paths["segs"].parent, best, "original_filter", best_cfg),
        ]
        table = [
            "| stage | records | ours: records/s/core (CPU time) | ours: peak RSS | original: records/s/core | "
            "original: peak RSS | speed-up |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for n, (label, job, src, config, original_job, original_config) in enumerate(rows):
            ours = measure(job, src, root / f"out{n}", config)
            line = (
                f"| {label} | {ours['records']:,} | {ours['per_s']:,.0f} (wall {ours['per_wall_s']:,.0f}) | "
                f"{ours['peak_rss_mb']:.0f} MB |"
            )
            print(f"{label}: {ours['per_s']:,.0f} records/s/core, peak RSS {ours['peak_rss_mb']:.0f} MB")
            if have_original:
                limit = min(args.original_records, ours["records"])
                subset = first_records(next(src.glob("*.jsonl.gz")), root / f"orig_in{n}", limit)
                theirs = measure(original_job, subset, root / f"orig_out{n}", original_config)
                ratio = ours["per_s"] / theirs["per_s"]
                line += f" {theirs['per_s']:,.0f} (wall {theirs['per_wall_s']:,.0f}; {theirs['records']:,} records) | "
                line += f"{theirs['peak_rss_mb']:.0f} MB | "
                line += f"{ratio:.1f}x |"
                print(
                    f"  original: {theirs['per_s']:,.0f} records/s/core, peak RSS {theirs['peak_rss_mb']:.0f} MB "
                    f"-> {ratio:.1f}x"
                )
            else:
                line += " - | - | - |"
            table.append(line)
    body = "\n".join(
        [
            f"`python benchmarks/bench_tag_filter.py --records {args.records}` — synthetic VTT documents with "
            f"{args.captions} captions and rolling machine captions (`.jsonl.gz`); synthetic tagged segments for "
            "the filter. One worker per measurement (records/s per core), each in a fresh process (its own peak "
            "RSS). Original = whole-file gzip + stdlib json + webvtt-py + per-record dispatch, on the first "
            f"{args.original_records:,} records. Targets: >= 5,000 documents/s/core for tagging without "
            "edit distance, >= 50,000 records/s/core for filtering.",
            "",
            *table,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("bench_tag_filter", body)


if __name__ == "__main__":
    main()
