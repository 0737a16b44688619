"""Running the search's training jobs, here or in worker processes.

Each job trains with one CPU thread, so the worker count changes the
speed only (``benchmarks/run.py workers``).  Workers ignore Ctrl-C (the
parent stops them) and end within a second of their parent's death.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache, partial

import torch
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from byhand.data import loader, with_flips, with_shifts
from byhand.network import MyMLP, linear_baseline
from byhand.search.configs import SearchConfig, SettingError
from byhand.search.pair import PairResult, train_pair

# What each protocol trains on: the training split as it is, or with
# copies of each image one after another (how many: the number).
PROTOCOLS: dict[str, tuple[Callable[[TensorDataset], TensorDataset], int]] = {
    "plain": (lambda ds: ds, 1),
    "flip": (with_flips, 2),
    "shift": (with_shifts, 10),
}


@dataclass(frozen=True, kw_only=True)
class Job:
    """One training run of the search."""

    run: str  # unique id, e.g. "course-05" or "course-05-flip-s266"
    config: str  # the id of its configuration (its grid-stage run)
    stage: str = "grid"  # "grid", "seeds", "flip" or "shift"
    protocol: str = "plain"  # "plain", "flip" or "shift" (`PROTOCOLS`)
    source: str  # "course", "grid", "probe" or "baseline"
    model: str = "MyMLP"  # or "linear"
    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    seed: int
    check: bool  # train with the manual update too, and compare
    n_epochs: int | None = None  # None: the configuration's

    @property
    def cost(self) -> int:
        """Epoch-equivalents of training: long jobs are started first."""
        epochs = self.n_epochs or 30
        return PROTOCOLS[self.protocol][1] * epochs * (2 if self.check else 1)


@dataclass(frozen=True)
class Setting:
    """What every job shares: the data, the search's configuration and
    the dtype (a worker process starts in float32)."""

    train: TensorDataset
    val: TensorDataset
    config: SearchConfig
    dtype: torch.dtype = field(default_factory=torch.get_default_dtype)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """``$BYHAND_WORKERS`` (a whole number from 1), else one per core."""
    raw = os.environ.get("BYHAND_WORKERS", "").strip()
    if not raw:
        return cores()
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
        raise SettingError(
            f"BYHAND_WORKERS={raw!r} is not a number of processes; set it "
            "to a whole number from 1, or unset it (one per core)"
        )
    return int(raw)


def run_job(
    job: Job, setting: Setting, device: torch.device | str = "cpu"
) -> PairResult:
    """Train one job (one thread on the CPU)."""
    config = setting.config
    loaders = {
        "train": loader(_training_set(setting.train, job.protocol),
                        config.batch_size),
        "val": loader(setting.val, config.batch_size),
    }  # fmt: skip
    n_in = setting.train.tensors[0][0].numel()
    make = partial(MyMLP, n_in=n_in, hidden=config.hidden, n_out=2)
    name = "MyMLP"
    if job.model == "linear":
        make, name = partial(linear_baseline, n_in, 2), f"linear ({n_in} to 2)"
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(setting.dtype)
    try:
        return train_pair(
            make, loaders, lr=job.lr, momentum=job.momentum,
            weight_decay=job.weight_decay,
            n_epochs=job.n_epochs or config.n_epochs,
            seed=job.seed, run=job.run, model_name=name, source=job.source,
            device=device, check=job.check,
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)


@lru_cache(maxsize=1)  # one augmented copy in memory at a time
def _training_set(train: TensorDataset, protocol: str) -> TensorDataset:
    return PROTOCOLS[protocol][0](train)


_SETTING: list[Setting] = []  # in a worker: the setting jobs share


def _init_worker(setting: Setting, parent: int) -> None:
    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)  # the parent is gone: nobody wants the result

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    threading.Thread(target=watch_parent, daemon=True).start()
    _SETTING.append(setting)


def _work(job: Job) -> PairResult:
    return run_job(job, _SETTING[0])


Run = Callable[[Sequence[Job]], list[PairResult]]


@contextlib.contextmanager
def runner(
    setting: Setting,
    *,
    workers: int = 1,
    progress: bool = False,
    device: torch.device | str = "cpu",
) -> Iterator[Run]:
    """``run(jobs)``: every job's result, in the order of ``jobs``; run
    here, or with ``workers`` > 1 (CPU only) in a pool of worker
    processes that ends with the ``with`` block.  One progress bar counts
    the jobs of every call."""
    with tqdm(total=0, desc="runs", unit="run", disable=not progress) as bar:
        if workers <= 1 or torch.device(device).type != "cpu":
            yield lambda jobs: [
                run_job(job, setting, device)
                for job in _counted(bar, jobs, len(jobs))
            ]
            return
        # "spawn": a fresh interpreter per worker, safe whatever threads
        # this process (or a Jupyter kernel) has started.
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(setting, os.getpid()),
        )  # fmt: skip
        try:
            yield partial(_run_in, pool, bar)
        except BaseException:  # interrupted or failed: stop the workers
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            raise
        pool.shutdown()


def _counted(bar: tqdm, items: Iterable, n: int) -> Iterator:
    """``items``, a step of ``bar`` after each; ``bar`` grows by ``n``."""
    bar.total += n
    bar.refresh()
    for item in items:
        yield item
        bar.update()


def _run_in(
    pool: ProcessPoolExecutor, bar: tqdm, jobs: Sequence[Job]
) -> list[PairResult]:
    # Longest first, so the workers finish at about the same time.
    longest_first = sorted(jobs, key=lambda job: -job.cost)
    futures = {job: pool.submit(_work, job) for job in longest_first}
    try:
        for future in _counted(bar, as_completed(futures.values()), len(jobs)):
            future.result()  # a worker's error, at once
    except BrokenProcessPool as err:
        raise RuntimeError(
            "the worker processes of the search could not run. A "
            "script that calls run_search must start with `if "
            "__name__ == '__main__':` (they import it again); or "
            "pass workers=1 (BYHAND_WORKERS=1) to train here"
        ) from err
    return [futures[job].result() for job in jobs]
