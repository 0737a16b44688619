"""Tasks 8-10: the search, the selection and the one test evaluation.

Stages, all judged on validation: **grid** (every configuration from the
course's seed, SGD and by hand compared, plus a linear baseline),
**seeds** (the best from ``extra_seeds``), **flip** and **shift** (the
best on augmented training images).  The results folder keeps it all.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

import byhand
from byhand._io import results_root
from byhand.data import CatCarSplits, loader
from byhand.network import MyMLP
from byhand.search import logformat, results
from byhand.search.configs import TINY, SearchConfig
from byhand.search.evaluation import evaluate_test
from byhand.search.jobs import Job, Run, Setting, default_workers, runner
from byhand.search.pair import PairResult, majority_row
from byhand.search.results import SearchResult
from byhand.search.selection import select, top_configs

__all__ = ["TINY", "SearchConfig", "run_search"]


def run_search(
    splits: CatCarSplits,
    config: SearchConfig | None = None,
    *,
    results_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
    force: bool = False,
    device: torch.device | str | None = None,
    workers: int | None = None,
) -> SearchResult:
    """Train, compare, select and evaluate; or load the saved results
    (retrained, with a warning, unless exactly what this search wrote).
    ``workers`` (default `default_workers`) changes the speed only."""
    config = config or SearchConfig()
    progress = sys.stderr.isatty() if progress is None else progress
    device = torch.device(
        device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    root = Path(results_dir) if results_dir else results_root()
    folder = results.search_folder(root, config, splits)
    with results.locked(folder) as problem:
        if folder.exists() and not force:
            try:
                return results.load(folder, config)
            except results.ResultsError as err:
                warnings.warn(
                    f"saved results in {folder} fail a check ({err}); "
                    "they are not used",
                    stacklevel=2,
                )
        if problem is not None:  # a read-only folder, say
            raise results.unwritable(root, problem)
        workers = workers or default_workers()
        return _search(splits, config, folder, progress, device, workers)


def _search(
    splits: CatCarSplits,
    config: SearchConfig,
    folder: Path,
    progress: bool,
    device: torch.device,
    workers: int,
) -> SearchResult:
    """Train every stage, select, test once, save."""
    t_start = time.perf_counter()
    setting = Setting(splits.train, splits.val, config)
    with runner(setting, workers=workers, progress=progress,
                device=device) as run:  # fmt: skip
        jobs, pairs = _train(config, run)
    majority = majority_row(splits.train.tensors[1], splits.val.tensors[1])
    majority.update(config="majority", stage="grid", protocol="plain")
    runs = pd.concat(
        [_table(jobs, pairs), pd.DataFrame([majority])], ignore_index=True
    )
    selected = select(runs, config.seed)
    runs["selected"] = runs["run"] == selected
    best = next(p for p in pairs if p.run == selected)
    course = [p for p, j in zip(pairs, jobs, strict=True)
              if j.source == "course" and j.stage == "grid"]  # fmt: skip
    log = logformat.course_log(
        course, device=device.type, batch_size=config.batch_size,
        n_epochs=config.n_epochs, seed=config.seed,
    )  # fmt: skip
    # Task 10: the selected model on the test set, its one look at it.
    model = MyMLP(n_in=splits.train.tensors[0][0].numel(),
                  hidden=config.hidden, n_out=len(splits.classes))  # fmt: skip
    model.to(device).load_state_dict(best.state_dict)
    test = loader(splits.test, config.batch_size)
    result = SearchResult(
        config=config,
        runs=runs,
        epochs=pd.concat([p.epochs for p in pairs], ignore_index=True),
        selected=selected,
        test=evaluate_test(model, test, splits.classes),
        log=log,
        folder=folder,
        meta=_meta(splits, config, runs, device, workers),
    )
    result.meta["seconds_total"] = time.perf_counter() - t_start
    results.save(result, best.state_dict)
    return result


def _train(
    config: SearchConfig, run: Run
) -> tuple[list[Job], list[PairResult]]:
    """The grid, then the other stages on its best, whose grid runs are
    checked by hand too: the selected model is one both trainers agree on.
    """
    grid = _grid_jobs(config)
    pairs = run(grid)
    n = max(config.n_top, config.n_flip, config.n_shift)
    top = top_configs(_table(grid, pairs), n)
    unchecked = [j for j in grid if j.config in top and not j.check]
    more = [dataclasses.replace(j, check=True) for j in unchecked]
    more += _repeat_jobs(config, grid, top)
    pairs += run(more)
    # By run id: a checked grid run takes its unchecked one's place.
    jobs = {j.run: (j, p) for j, p in zip(grid + more, pairs, strict=True)}
    return [j for j, _ in jobs.values()], [p for _, p in jobs.values()]


def _grid_jobs(config: SearchConfig) -> list[Job]:
    jobs = [
        Job(run=f"{source}-{i:02d}", config=f"{source}-{i:02d}",
            source=source, lr=lr, momentum=mom, weight_decay=wd,
            seed=config.seed,
            check=source == "course" or config.check_whole_grid)
        for i, (source, lr, mom, wd) in enumerate(config.settings())
    ]  # fmt: skip
    linear = Job(run="linear", config="linear", source="baseline",
                 model="linear", lr=config.baseline_lr, seed=config.seed,
                 check=True)  # fmt: skip
    return [*jobs, linear]


def _repeat_jobs(
    config: SearchConfig, grid: list[Job], top: list[str]
) -> list[Job]:
    """The best from every extra seed (SGD only), and flipped and shifted
    from every seed (the course's seed checked)."""
    by_id = {j.config: j for j in grid}
    again = dataclasses.replace
    seeds = [
        again(by_id[name], run=f"{name}-s{seed}", stage="seeds", seed=seed,
              check=False)
        for name in top[: config.n_top] for seed in config.extra_seeds
    ]  # fmt: skip
    flips = [
        again(by_id[name], run=f"{name}-flip-s{seed}", stage="flip",
              protocol="flip", seed=seed, check=seed == config.seed)
        for name in top[: config.n_flip] for seed in config.seeds
    ]  # fmt: skip
    shifts = []  # at each scale of the learning rate: a new configuration
    for name, scale in itertools.product(
        top[: config.n_shift], config.shift_lr_scale
    ):
        lr = by_id[name].lr * scale
        shift = name if scale == 1 else f"{name}-lr{lr:g}"
        shifts += [
            again(by_id[name], run=f"{shift}-shift-s{seed}", config=shift,
                  lr=lr, stage="shift", protocol="shift", seed=seed,
                  n_epochs=config.shift_epochs, check=seed == config.seed)
            for seed in config.seeds
        ]  # fmt: skip
    return seeds + (flips if config.flip else []) + shifts


def _table(jobs: list[Job], pairs: list[PairResult]) -> pd.DataFrame:
    """One row per run (runs.csv)."""
    rows = [
        {**p.row(), "config": j.config, "stage": j.stage,
         "protocol": j.protocol}
        for j, p in zip(jobs, pairs, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _meta(
    splits: CatCarSplits,
    config: SearchConfig,
    runs: pd.DataFrame,
    device: torch.device,
    workers: int,
) -> dict:
    """meta.json: what the tables and the report say about the search."""
    checked = runs[runs["checked"].astype(bool)]
    return {
        "selected": runs.loc[runs["selected"], "run"].item(),
        "data_checksum": splits.checksum,
        "split_seed": splits.seed,
        "sizes": splits.sizes,
        "classes": splits.classes,
        "byhand": byhand.__version__,
        "torch": torch.__version__,
        "device": device.type,
        "workers": workers,
        "n_configs": len(config.settings()),
        "n_runs": int((runs["model"] != "majority class").sum()),
        "n_checked": len(checked),
        "all_identical": bool(checked["identical"].astype(bool).all()),
    }
