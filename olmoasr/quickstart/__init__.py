"""`olmoasr quickstart`: every stage of olmoasr on the built-in sample shard, in one command.

```python
from olmoasr.quickstart import run_quickstart
summary = run_quickstart("qs", steps=5)       # -> QuickstartSummary (also qs/summary.json)
print(summary.eval_before["wer"], summary.eval_after["wer"], summary.transcript)
```
"""

from olmoasr.quickstart.layout import STAGE_DIRS, QuickstartError
from olmoasr.quickstart.runner import DEFAULT_STEPS, QuickstartSummary, StageOutcome, run_quickstart

__all__ = ["DEFAULT_STEPS", "STAGE_DIRS", "QuickstartError", "QuickstartSummary", "StageOutcome", "run_quickstart"]
