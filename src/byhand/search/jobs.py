"""Running the search's training jobs, in this process or on several.

A job trains one configuration from one seed on one protocol (the
training split as it is, or with its mirror images).  Every job trains
with one CPU thread, so its result does not depend on how many jobs run
at once: the number of worker processes changes the speed only.
Measured on 2 cores (MyMLP, float64; ``benchmarks/run.py workers``):
eight 30-epoch jobs took 36.0 s in one process with two threads and
23.4 s in two processes of one thread each, start-up included (1.54x).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from byhand.network import MyMLP, linear_baseline
from byhand.search.pair import PairResult, train_pair


@dataclass(frozen=True)
class Job:
    """One training run of the search."""

    run: str  # unique id, e.g. "course-05" or "course-05-flip-s266"
    config: str  # the id of its configuration (its grid-stage run)
    stage: str  # "grid", "seeds" or "flip"
    protocol: str  # "plain" or "flip" (training images + mirrors)
    source: str  # "course", "grid", "probe" or "baseline"
    model: str  # "MyMLP" or "linear"
    lr: float
    momentum: float
    weight_decay: float
    seed: int
    check: bool  # train with the manual update too, and compare

    def tags(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "stage": self.stage,
            "protocol": self.protocol,
        }


@dataclass(frozen=True)
class Setting:
    """What every job shares: the data and the training set-up."""

    train: TensorDataset
    train_flip: TensorDataset | None
    val: TensorDataset
    hidden: tuple[int, ...]
    n_epochs: int
    batch_size: int
    dtype: torch.dtype


def default_workers() -> int:
    """``$BYHAND_WORKERS``, else one per CPU core."""
    return int(os.environ.get("BYHAND_WORKERS") or os.cpu_count() or 1)


def _model(job: Job, setting: Setting) -> tuple[str, Callable[[], nn.Module]]:
    """The model's name in runs.csv, and how to build it."""
    n_in = setting.train.tensors[0][0].numel()
    if job.model == "linear":
        return f"linear ({n_in} to 2)", lambda: linear_baseline(n_in, 2)
    return "MyMLP", lambda: MyMLP(n_in=n_in, hidden=setting.hidden, n_out=2)


def run_job(
    job: Job,
    setting: Setting,
    device: torch.device | str = "cpu",
    tick: Callable[[], None] | None = None,
) -> PairResult:
    """Train one job (one thread on the CPU)."""
    train_set = setting.train_flip if job.protocol == "flip" else setting.train
    if train_set is None:
        raise ValueError(f"{job.run}: no flipped training set was given")
    loaders = {
        "train": DataLoader(train_set, setting.batch_size, shuffle=False),
        "val": DataLoader(setting.val, setting.batch_size, shuffle=False),
    }
    threads = torch.get_num_threads()
    dtype = torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(setting.dtype)
    name, make = _model(job, setting)
    try:
        return train_pair(
            make,
            loaders,
            lr=job.lr,
            momentum=job.momentum,
            weight_decay=job.weight_decay,
            n_epochs=setting.n_epochs,
            seed=job.seed,
            run=job.run,
            model_name=name,
            source=job.source,
            device=device,
            check=job.check,
            tick=tick,
        )
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)


# In a worker process: the shared setting and the progress queue.
_WORKER: dict[str, Any] = {}


def _init_worker(setting: Setting, ticks: Any) -> None:
    _WORKER["setting"], _WORKER["ticks"] = setting, ticks


def _work(index: int, job: Job) -> PairResult:
    ticks = _WORKER["ticks"]
    return run_job(job, _WORKER["setting"], tick=lambda: ticks.put(index))


class _Progress:
    """Two bars: runs done, and epochs trained (by either trainer)."""

    def __init__(self, jobs: Sequence[Job], n_epochs: int, show: bool):
        self.planned = [n_epochs * (2 if j.check else 1) for j in jobs]
        self.done = [0] * len(jobs)
        self.runs = tqdm(
            total=len(jobs), desc="runs", unit="run", disable=not show
        )
        self.epochs = tqdm(
            total=sum(self.planned),
            desc="epochs",
            unit="epoch",
            disable=not show,
            leave=False,
        )

    def tick(self, index: int) -> None:
        if self.done[index] < self.planned[index]:  # late ticks: ignored
            self.done[index] += 1
            self.epochs.update(1)

    def finished(self, index: int, job: Job) -> None:
        # A diverged run stops early: count its remaining epochs as done.
        self.epochs.update(self.planned[index] - self.done[index])
        self.done[index] = self.planned[index]
        self.runs.set_postfix_str(job.run)
        self.runs.update(1)

    def close(self) -> None:
        self.epochs.close()
        self.runs.close()


class Runner:
    """Runs jobs, in this process or in a pool kept for several calls.

    ``workers`` > 1 trains that many jobs at once in worker processes
    (CPU only); the results are the same as with one.  Use it as a
    context manager, so the pool's processes end with the block.
    """

    def __init__(
        self,
        setting: Setting,
        *,
        workers: int = 1,
        progress: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        self.setting, self.progress, self.device = setting, progress, device
        self.workers = workers if torch.device(device).type == "cpu" else 1
        self._pool: ProcessPoolExecutor | None = None
        self._ticks: Any = None

    def __enter__(self) -> Runner:
        if self.workers > 1:
            # "spawn": a fresh interpreter per worker, safe whatever
            # threads this process (or a Jupyter kernel) has started.
            ctx = multiprocessing.get_context("spawn")
            self._ticks = ctx.Queue()
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker,
                initargs=(self.setting, self._ticks),
            )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def run(self, jobs: Sequence[Job]) -> list[PairResult]:
        """Every job's result, in the order of ``jobs``."""
        bar = _Progress(jobs, self.setting.n_epochs, self.progress)
        out: list[PairResult | None] = [None] * len(jobs)
        try:
            if self._pool is None:
                for i, job in enumerate(jobs):
                    out[i] = run_job(
                        job,
                        self.setting,
                        self.device,
                        tick=lambda i=i: bar.tick(i),
                    )
                    bar.finished(i, job)
            else:
                self._run_pool(jobs, bar, out)
        finally:
            bar.close()
        return [r for r in out if r is not None]

    def _run_pool(
        self,
        jobs: Sequence[Job],
        bar: _Progress,
        out: list[PairResult | None],
    ) -> None:
        assert self._pool is not None
        try:
            pending = {
                self._pool.submit(_work, i, job): i
                for i, job in enumerate(jobs)
            }
            while pending:
                done, _ = wait(
                    pending, timeout=0.2, return_when=FIRST_COMPLETED
                )
                _drain(self._ticks, bar)
                for future in done:
                    i = pending.pop(future)
                    out[i] = future.result()  # re-raises a worker's error
                    bar.finished(i, jobs[i])
        except BrokenProcessPool as err:
            raise RuntimeError(
                "the worker processes of the search could not run. A script "
                "that calls run_search must start with `if __name__ == "
                "'__main__':` (they import it again); or pass workers=1 "
                "(BYHAND_WORKERS=1) to train in this process"
            ) from err
        _drain(self._ticks, bar)


def _drain(ticks: Any, bar: _Progress) -> None:
    while True:
        try:
            bar.tick(ticks.get_nowait())
        except queue.Empty:
            return
