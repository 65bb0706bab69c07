"""Synthetic speech data: text -> speech (flite, espeak-ng), caption files with exact timings,
YouTube-style machine captions with ASR-like errors, the packaged sample shard and larger corpora.

Needs Debian's `flite` and `espeak-ng` (`apt-get install flite espeak-ng`); the packaged sample shard
(olmoasr.sample_data) does not.
"""

from olmoasr.synth.captions import Cue, TimedWord, corrupt_like_asr, format_srt, format_vtt, youtube_auto_vtt
from olmoasr.synth.corpus import make_corpus, plan_corpus
from olmoasr.synth.pairs import KINDS, PairSpec, build_pair, synthesise_pair
from olmoasr.synth.speech import Voice, encode_audio, engines_available, require_engine, synthesize

__all__ = [
    "KINDS",
    "Cue",
    "PairSpec",
    "TimedWord",
    "Voice",
    "build_pair",
    "corrupt_like_asr",
    "encode_audio",
    "engines_available",
    "format_srt",
    "format_vtt",
    "make_corpus",
    "plan_corpus",
    "require_engine",
    "synthesise_pair",
    "synthesize",
    "youtube_auto_vtt",
]
