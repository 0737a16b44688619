"""Tasks 8-9: the hyperparameter search and the selection of one model.

Three stages, all on the validation split (the test set stays out):

1. **grid**: every configuration (the course's six settings, a denser
   grid where training works, two probes of where it fails) trained from
   the course's seed with `train` and with `train_manual_update`, which
   must agree bit for bit (`byhand.search.pair`); plus a linear baseline.
2. **seeds**: the ``n_top`` best configurations of stage 1, trained again
   from each of ``extra_seeds`` (torch.optim.SGD only), to measure how
   much validation accuracy moves with the initialization alone.
3. **flip** and **shift**: the best configurations on two more
   protocols, the training split plus its mirror images
   (`byhand.data.with_flips`), and plus mirrors and one-pixel shifts
   (`byhand.data.with_shifts`, with its own learning rates), from every
   seed; each course-seed run is trained both ways and compared too.

Selection is automatic (`byhand.search.selection`): the highest mean validation
accuracy over the seeds.  The selected configuration's course-seed model
is evaluated once on the test set (`byhand.search.evaluation`).
Everything is saved in a results folder (`byhand.search.results`) that a second
call loads.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

import byhand
from byhand.data import CatCarSplits, dataloaders
from byhand.network import MyMLP
from byhand.search import logformat, results
from byhand.search.configs import TINY, SearchConfig
from byhand.search.evaluation import evaluate_test
from byhand.search.jobs import Job, Runner, Setting, default_workers
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
    """Train, compare, select and evaluate; or load the saved results.

    The test set is evaluated once, for the selected model only.  Saved
    results that are not exactly what this search wrote are reported with
    a warning and retrained.  ``workers`` processes train at once on the
    CPU (default: one per core, or ``$BYHAND_WORKERS``); the results do
    not depend on it.  `results.ResultsPathError` if they cannot be saved.
    """
    config = config or SearchConfig()
    progress = sys.stderr.isatty() if progress is None else progress
    device = torch.device(
        device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    key = results.cache_key(config, f"{splits.checksum}:{splits.seed}")
    root = Path(results_dir) if results_dir else results.results_root()
    folder = root / f"search-{key}"
    with results.locked(folder) as problem:
        saved = None if force else _saved(folder, config)
        if saved is not None:
            return saved
        if problem is not None:  # a read-only folder, say
            raise results.unwritable(root, problem)
        workers = workers or default_workers()
        return _search(splits, config, folder, progress, device, workers)


def _saved(folder: Path, config: SearchConfig) -> SearchResult | None:
    """The saved results, if they are whole and this search's."""
    if not folder.exists():
        return None
    try:
        return results.load(folder, config)
    except results.ResultsError as err:
        warnings.warn(
            f"saved results in {folder} fail a check ({err}); they are "
            "not used",
            stacklevel=3,
        )
        return None


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
    runner = Runner(
        Setting.of(splits, config),
        workers=workers,
        progress=progress,
        device=device,
    )
    with runner:
        jobs, pairs = _train(config, runner)
    runs = _table(jobs, pairs, splits)
    selected = select(runs, config.seed)
    runs["selected"] = runs["run"] == selected
    best = next(p for p in pairs if p.run == selected)
    course = [p for p, j in zip(pairs, jobs, strict=True)
              if j.source == "course" and j.stage == "grid"]  # fmt: skip
    log = logformat.course_log(
        course, device=device.type, batch_size=config.batch_size,
        n_epochs=config.n_epochs, seed=config.seed,
    )  # fmt: skip
    result = SearchResult(
        config=config,
        runs=runs,
        epochs=pd.concat([p.epochs for p in pairs], ignore_index=True),
        selected=selected,
        test=_test_once(splits, config, best.state_dict, device),
        log=log,
        folder=folder,
        meta=_meta(splits, config, runs, selected, device, workers),
    )
    result.meta["seconds_total"] = time.perf_counter() - t_start
    results.save(result, best.state_dict)
    return result


def _train(
    config: SearchConfig, runner: Runner
) -> tuple[list[Job], list[PairResult]]:
    """Stage 1 (grid), then the other stages on its best.

    The best configurations' grid runs are trained by hand too when the
    grid left them to SGD alone (the same seed gives the same SGD run):
    the selected model is always one both trainers agree on.
    """
    grid = _grid_jobs(config)
    pairs = runner.run(grid)
    n = max(config.n_top, config.n_flip, config.n_shift)
    top = top_configs(_table(grid, pairs), n)
    repeat = _repeat_jobs(config, grid, top)
    again = [i for i, j in enumerate(grid) if j.config in top and not j.check]
    for i in again:
        grid[i] = dataclasses.replace(grid[i], check=True)
    more = runner.run([grid[i] for i in again] + repeat)
    for k, i in enumerate(again):
        pairs[i] = more[k]
    return grid + repeat, pairs + more[len(again) :]


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
    """The best configurations again: from every extra seed (SGD only),
    and on the flip and shift protocols from every seed (the course's
    seed checked)."""
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
    shifts = [
        again(job, run=f"{job.config}-shift-s{seed}", seed=seed,
              check=seed == config.seed)
        for job in _shift_configs(config, [by_id[n] for n in top])
        for seed in config.seeds
    ]  # fmt: skip
    return seeds + (flips if config.flip else []) + shifts


def _shift_configs(config: SearchConfig, top: list[Job]) -> list[Job]:
    """The shift protocol's configurations: the best grid ones at each
    of ``shift_lr_scale`` times their learning rate (a new configuration
    when the rate changes)."""
    out = []
    for job in top[: config.n_shift]:
        for scale in config.shift_lr_scale:
            lr = job.lr * scale
            name = job.config if scale == 1 else f"{job.config}-lr{lr:g}"
            out.append(dataclasses.replace(
                job, config=name, lr=lr, stage="shift", protocol="shift",
                n_epochs=config.shift_epochs,
            ))  # fmt: skip
    return out


def _table(
    jobs: list[Job],
    pairs: list[PairResult],
    splits: CatCarSplits | None = None,
) -> pd.DataFrame:
    """One row per run; with ``splits``, the majority-class baseline too."""
    runs = pd.DataFrame(
        [{**p.row(), **j.tags()} for j, p in zip(jobs, pairs, strict=True)]
    )
    if splits is None:
        return runs
    row = majority_row(splits.train.tensors[1], splits.val.tensors[1])
    row.update(config=row["run"], stage="grid", protocol="plain")
    return pd.concat([runs, pd.DataFrame([row])], ignore_index=True)


def _test_once(
    splits: CatCarSplits,
    config: SearchConfig,
    state_dict: dict[str, torch.Tensor],
    device: torch.device,
) -> dict:
    """Task 10: the selected model on the test set, its one look at it."""
    n_in = splits.train.tensors[0][0].numel()
    model = MyMLP(n_in=n_in, hidden=config.hidden, n_out=len(splits.classes))
    model.to(device).load_state_dict(state_dict)
    test_loader = dataloaders(splits, config.batch_size)["test"]
    return evaluate_test(model, test_loader, splits.classes)


def _meta(
    splits: CatCarSplits,
    config: SearchConfig,
    runs: pd.DataFrame,
    selected: str,
    device: torch.device,
    workers: int,
) -> dict:
    """meta.json: what the tables and the report say about the search."""
    trained = runs[runs["model"] != "majority class"]
    checked = runs[runs["checked"].astype(bool)]
    return {
        "selected": selected,
        "data_checksum": splits.checksum,
        "split_seed": splits.seed,
        "sizes": splits.sizes,
        "classes": splits.classes,
        "n_in": splits.train.tensors[0][0].numel(),
        "n_out": len(splits.classes),
        "byhand": byhand.__version__,
        "torch": torch.__version__,
        "device": device.type,
        "workers": workers,
        "n_configs": len(config.settings()),
        "n_runs": len(trained),
        "n_checked": len(checked),
        "all_identical": bool(checked["identical"].astype(bool).all()),
    }
