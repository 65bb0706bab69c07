"""Starting training: one process, N self-spawned workers (torch's elastic launcher), or under torchrun.

Under torchrun (or any launcher that sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR) this process
is one rank and trains directly. Otherwise `nproc_per_node > 1` starts that many workers on this node
through `torch.distributed.launcher.api.elastic_launch` (c10d rendezvous on a free local port). If a
worker fails, the agent stops the others and we raise one line naming the failing rank, its error and
where it happened; Ctrl-C stops every worker.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import traceback
import uuid

from torch.distributed.elastic.multiprocessing.errors import record

from olmoasr.errors import OlmoasrError
from olmoasr.train.config import TrainConfig, build_config


class TrainingFailed(OlmoasrError):
    """A training worker failed; the message names the rank, the error and where it was raised."""


def under_launcher() -> bool:
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if "olmoasr" in f.filename] or frames
    if not ours:
        return ""
    frame = ours[-1]
    return f" (at {os.path.relpath(frame.filename)}:{frame.lineno} in {frame.name})"


def _one_line(err: BaseException) -> str:
    if isinstance(err, OlmoasrError):
        return str(err)
    return f"{type(err).__name__}: {' '.join(str(err).split())}{_where(err)}"


@record  # writes the worker's error where the elastic agent reads it
def _worker(config_values: dict):
    """Entry point of a spawned worker (module level, so it pickles)."""
    from olmoasr.train.loop import train

    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if "OMP_NUM_THREADS" not in os.environ and local_world > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    try:
        return train(build_config(config_values, source="launcher"))
    except BaseException as err:
        raise TrainingFailed(_one_line(err)) from None


def _first_failure(err) -> str:
    rank, failure = err.get_first_failure()
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", message)
    text = str(message).strip()
    if "TrainingFailed:" in text:
        text = text.split("TrainingFailed:", 1)[1].strip()
    text = text.splitlines()[0] if text else f"exit code {failure.exitcode}"
    if not text or text.startswith("To enable traceback"):
        text = f"exit code {failure.exitcode} (signal or crash without a Python error)"
    return f"training worker rank {rank} failed: {text}"


def spawn_workers(config: TrainConfig):
    """Run `config` on `nproc_per_node` local workers; returns rank 0's TrainResult."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    launch = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=config.nproc_per_node,
        run_id=f"olmoasr-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{_free_port()}",
        max_restarts=0,
        monitor_interval=0.2,
        start_method="spawn",
    )
    quiet = logging.getLogger("torch")  # the agent's tracebacks and SIGTERM notes would bury our one line
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        results = elastic_launch(launch, _worker)(config.to_dict())
    except ChildFailedError as err:
        raise TrainingFailed(_first_failure(err)) from None
    except SignalException as err:
        print(f"interrupted (signal {int(err.sigval)}): all {config.nproc_per_node} training workers were stopped; "
              "`--resume auto` continues from the last complete checkpoint", file=sys.stderr)  # fmt: skip
        raise KeyboardInterrupt(f"stopped by signal {err.sigval}") from None
    finally:
        quiet.setLevel(level)
    return results.get(0)


def run_training(config: TrainConfig):
    """The one entry point of the CLI and the Python API."""
    from olmoasr.io.completion import check_complete
    from olmoasr.train.data import find_data_files
    from olmoasr.train.loop import train

    if config.samples_dicts_dir:
        find_data_files(config.samples_dicts_dir)  # a missing data dir fails here, before any worker starts
        check_complete(config.samples_dicts_dir, allow_partial=config.allow_partial)
    if under_launcher() or config.nproc_per_node <= 1:
        return train(config)
    return spawn_workers(config)
