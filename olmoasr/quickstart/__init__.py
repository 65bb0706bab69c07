"""`olmoasr quickstart`: every stage of olmoasr on the built-in sample shard, in one command.

```python
from olmoasr.quickstart import run_quickstart
summary = run_quickstart("qs", steps=5)       # -> QuickstartSummary (also qs/summary.json)
print(summary.eval_before["wer"], summary.eval_after["wer"], summary.transcript)
```
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_EXPORTS = {
    "STAGE_DIRS": "olmoasr.quickstart.layout",
    "QuickstartError": "olmoasr.quickstart.layout",
    "DEFAULT_STEPS": "olmoasr.quickstart.walk",
    "QuickstartSummary": "olmoasr.quickstart.walk",
    "StageOutcome": "olmoasr.quickstart.walk",
    "run_quickstart": "olmoasr.quickstart.walk",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
