"""Is the Hugging Face Hub reachable? Decided once per process, fast, before any model or dataset download.

`HF_HUB_OFFLINE` set means offline without asking. Otherwise one short request to the Hub's endpoint
decides. Offline, huggingface_hub and datasets are switched to their cache-only mode for the rest of the
process, so a missing file fails at once with one clear line instead of five backed-off retries (~25 s of
`Retrying in 8s` lines) per request.
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

PROBE_TIMEOUT_S = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HubStatus:
    online: bool
    reason: str = ""  # why offline; empty when online
    set_by_user: bool = False  # offline because the user set HF_HUB_OFFLINE


_lock = threading.Lock()
_status: HubStatus | None = None


def offline_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def probe(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One HEAD request, no retries: any HTTP answer means reachable. Proxies come from the usual variables."""
    request = urllib.request.Request(endpoint, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - the Hub endpoint, http(s) only
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def hub_status() -> HubStatus:
    """Online or offline (with the reason), decided on the first call of the process."""
    global _status
    with _lock:
        if _status is None:
            if offline_env():
                _status = HubStatus(False, "HF_HUB_OFFLINE is set", set_by_user=True)
            elif probe(hub_endpoint()):
                _status = HubStatus(True)
            else:
                _status = HubStatus(False, f"no connection to {hub_endpoint()}")
                _use_cache_only()
        return _status


def hub_online() -> bool:
    return hub_status().online


def offline_reason() -> str:
    """Why the Hub is not used, worded the same in every message; call only when offline."""
    status = hub_status()
    if status.set_by_user:
        return "the Hugging Face Hub is off (HF_HUB_OFFLINE is set; unset it to download)"
    return f"the Hugging Face Hub is unreachable ({status.reason})"


def forget_status() -> None:
    """Decide again on the next call (tests, or a long-lived process whose network changed)."""
    global _status
    with _lock:
        _status = None


def _use_cache_only() -> None:
    # What HF_HUB_OFFLINE=1 does, for this process and its workers. Both libraries read the variable at
    # import, so modules already imported get their flag set too.
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = datasets_config.HF_DATASETS_OFFLINE = True
