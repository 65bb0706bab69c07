"""Synthetic speech data: text -> speech (flite, espeak-ng), caption files with exact timings,
YouTube-style machine captions with ASR-like errors, the packaged sample shard and larger corpora.

Needs Debian's `flite` and `espeak-ng` (`apt-get install flite espeak-ng`); the packaged sample shard
(olmoasr.sample_data) does not.
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_EXPORTS = {
    "Cue": "olmoasr.synth.captions",
    "TimedWord": "olmoasr.synth.captions",
    "corrupt_like_asr": "olmoasr.synth.captions",
    "format_srt": "olmoasr.synth.captions",
    "format_vtt": "olmoasr.synth.captions",
    "youtube_auto_vtt": "olmoasr.synth.captions",
    "make_corpus": "olmoasr.synth.corpus",
    "plan_corpus": "olmoasr.synth.corpus",
    "KINDS": "olmoasr.synth.pairs",
    "PairSpec": "olmoasr.synth.pairs",
    "build_pair": "olmoasr.synth.pairs",
    "synthesise_pair": "olmoasr.synth.pairs",
    "Voice": "olmoasr.synth.speech",
    "encode_audio": "olmoasr.audio",
    "engines_available": "olmoasr.synth.speech",
    "require_engine": "olmoasr.synth.speech",
    "synthesize": "olmoasr.synth.speech",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
