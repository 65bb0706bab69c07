"""Evaluation on the paper's benchmark sets (Hub, local copies, manual layouts, manifests): WER and RTFx.

```python
from olmoasr.evaluation import EvalOptions, evaluate
report = evaluate("tiny", sets="librispeech_clean,long:earnings21", options=EvalOptions(output_dir="results"))
```
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_EXPORTS = {
    "EvalOptions": "olmoasr.evaluation.api",
    "EvalReport": "olmoasr.evaluation.api",
    "evaluate": "olmoasr.evaluation.api",
    "DecodeSettings": "olmoasr.evaluation.recognizer",
    "ModelRecognizer": "olmoasr.evaluation.recognizer",
    "REGISTRY": "olmoasr.evaluation.registry",
    "EvalSet": "olmoasr.evaluation.registry",
    "HubSource": "olmoasr.evaluation.registry",
    "LocalSource": "olmoasr.evaluation.registry",
    "all_sets": "olmoasr.evaluation.registry",
    "get_set": "olmoasr.evaluation.registry",
    "parse_sets": "olmoasr.evaluation.registry",
    "Recognizer": "olmoasr.evaluation.run_set",
    "SetResult": "olmoasr.evaluation.run_set",
    "corpus_score": "olmoasr.evaluation.scoring",
    "score_utterance": "olmoasr.evaluation.scoring",
    "skip_reason": "olmoasr.evaluation.scoring",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
