"""When the Hub is unreachable, a command's error names its own option for the offline model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from olmoasr.errors import ModelOfflineError


@contextmanager
def offline_model_option(option: str) -> Iterator[None]:
    """Within: a model the Hub cannot give fails naming `option tiny.en-offline` (`--init-from`, `--model`)."""
    try:
        yield
    except ModelOfflineError as err:
        from olmoasr.model.hub import offline_model_advice

        raise err.with_advice(offline_model_advice(option)) from None
