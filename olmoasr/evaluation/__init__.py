"""Evaluation on the paper's benchmark sets (Hub, local copies, manual layouts, manifests): WER and RTFx.

```python
from olmoasr.evaluation import EvalOptions, evaluate
report = evaluate("tiny", sets="librispeech_clean,long:earnings21", options=EvalOptions(output_dir="results"))
```
"""

from olmoasr.evaluation.api import EvalOptions, EvalReport, evaluate
from olmoasr.evaluation.recognizer import DecodeSettings, ModelRecognizer
from olmoasr.evaluation.registry import REGISTRY, EvalSet, HubSource, LocalSource, all_sets, get_set, parse_sets
from olmoasr.evaluation.runner import Recognizer, SetResult
from olmoasr.evaluation.scoring import corpus_score, score_utterance, skip_reason

__all__ = [
    "REGISTRY",
    "DecodeSettings",
    "EvalOptions",
    "EvalReport",
    "EvalSet",
    "HubSource",
    "LocalSource",
    "ModelRecognizer",
    "Recognizer",
    "SetResult",
    "all_sets",
    "corpus_score",
    "evaluate",
    "get_set",
    "parse_sets",
    "score_utterance",
    "skip_reason",
]
