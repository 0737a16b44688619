"""Tasks 8-9: the hyperparameter search and the selection of one model.

Three stages, all on the validation split (the test set stays out):

1. **grid**: every configuration (the course's six settings, a denser
   grid where training works, two probes of where it fails) trained from
   the course's seed with `train` and with `train_manual_update`, which
   must agree bit for bit (`byhand.search.pair`); plus a linear baseline.
2. **seeds**: the ``n_top`` best configurations of stage 1, trained again
   from each of ``extra_seeds`` (torch.optim.SGD only), to measure how
   much validation accuracy moves with the initialization alone.
3. **flip**: the same configurations and seeds on a second protocol, the
   training split plus its mirror images (`byhand.data.with_flips`); its
   course-seed run is trained both ways and compared too.

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
from byhand.data import CatCarSplits, dataloaders, with_flips
from byhand.network import MyMLP
from byhand.search import logformat, results
from byhand.search.configs import (
    COURSE_SETTINGS,
    PROFILES,
    TINY,
    ProfileError,
    SearchConfig,
    config_from_env,
)
from byhand.search.evaluation import evaluate_test
from byhand.search.jobs import Job, Runner, Setting, default_workers
from byhand.search.pair import PairResult, majority_row
from byhand.search.results import SearchResult
from byhand.search.selection import select, top_configs

__all__ = [
    "COURSE_SETTINGS",
    "PROFILES",
    "TINY",
    "ProfileError",
    "SearchConfig",
    "config_from_env",
    "run_search",
    "select",
]


def _grid_jobs(config: SearchConfig) -> list[Job]:
    jobs = []
    for i, (source, lr, mom, wd) in enumerate(config.settings()):
        run = f"{source}-{i:02d}"
        jobs.append(
            Job(run, run, "grid", "plain", source, "MyMLP",
                lr, mom, wd, config.seed, check=True)
        )  # fmt: skip
    jobs.append(
        Job("linear", "linear", "grid", "plain", "baseline", "linear",
            config.baseline_lr, 0.0, 0.0, config.seed, check=True)
    )  # fmt: skip
    return jobs


def _repeat_jobs(
    config: SearchConfig, grid: list[Job], top: list[str]
) -> list[Job]:
    by_id = {j.config: j for j in grid}
    jobs = []
    for name in top:
        g = by_id[name]
        for seed in config.extra_seeds:
            jobs.append(
                dataclasses.replace(
                    g, run=f"{name}-s{seed}", stage="seeds", seed=seed,
                    check=False,
                )
            )  # fmt: skip
    if config.flip:
        for name in top:
            g = by_id[name]
            for seed in config.seeds:
                jobs.append(
                    dataclasses.replace(
                        g, run=f"{name}-flip-s{seed}", stage="flip",
                        protocol="flip", seed=seed,
                        check=seed == config.seed,
                    )
                )  # fmt: skip
    return jobs


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
    results that fail a check are reported with a warning and retrained.
    ``workers`` processes train at once on the CPU (default: one per core,
    or ``$BYHAND_WORKERS``); the results do not depend on it.
    """
    config = config or SearchConfig()
    if progress is None:
        progress = sys.stderr.isatty()
    device = torch.device(
        device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    key = results.cache_key(config, f"{splits.checksum}:{splits.seed}")
    root = Path(results_dir) if results_dir else results.results_root()
    folder = root / f"search-{key}"
    with results.locked(folder):
        if not force and folder.exists():
            try:
                return results.load(folder, config)
            except results.ResultsError as err:
                warnings.warn(
                    f"saved results in {folder} fail a check ({err}); "
                    "training again",
                    stacklevel=2,
                )
        workers = workers or default_workers()
        return _search(splits, config, folder, key, progress, device, workers)


def _search(
    splits: CatCarSplits,
    config: SearchConfig,
    folder: Path,
    key: str,
    progress: bool,
    device: torch.device,
    workers: int,
) -> SearchResult:
    t_start = time.perf_counter()
    setting = Setting(
        train=splits.train,
        train_flip=with_flips(splits.train) if config.flip else None,
        val=splits.val,
        hidden=config.hidden,
        n_epochs=config.n_epochs,
        batch_size=config.batch_size,
        dtype=torch.get_default_dtype(),
    )
    grid = _grid_jobs(config)
    with Runner(
        setting, workers=workers, progress=progress, device=device
    ) as runner:
        pairs = runner.run(grid)
        runs = _runs(grid, pairs)
        top = top_configs(runs, config.n_top)
        repeat = _repeat_jobs(config, grid, top)
        more = runner.run(repeat) if repeat else []
    jobs, pairs = grid + repeat, pairs + more
    runs = _runs(jobs, pairs)
    y_train, y_val = splits.train.tensors[1], splits.val.tensors[1]
    runs = pd.concat(
        [runs, pd.DataFrame([_baseline(majority_row(y_train, y_val))])],
        ignore_index=True,
    )
    epochs = pd.concat([p.epochs for p in pairs], ignore_index=True)
    selected = select(runs, config.seed)
    runs["selected"] = runs["run"] == selected
    best = next(p for p in pairs if p.run == selected)
    n_in = splits.train.tensors[0][0].numel()
    n_out = len(splits.classes)
    model = MyMLP(n_in=n_in, hidden=config.hidden, n_out=n_out).to(device)
    model.load_state_dict(best.state_dict)
    # The one and only look at the test set.
    test_loader = dataloaders(splits, config.batch_size)["test"]
    test = evaluate_test(model, test_loader, splits.classes)
    course = [p for p, j in zip(pairs, jobs, strict=True)
              if j.source == "course" and j.stage == "grid"]  # fmt: skip
    log = logformat.course_log(
        course,
        device=device.type,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        seed=config.seed,
    )
    checked = runs[runs["checked"].astype(bool)]
    meta = {
        "selected": selected,
        "key": key,
        "config": dataclasses.asdict(config),
        "data_checksum": splits.checksum,
        "split_seed": splits.seed,
        "sizes": splits.sizes,
        "classes": splits.classes,
        "n_in": n_in,
        "n_out": n_out,
        "runs": runs["run"].tolist(),
        "byhand": byhand.__version__,
        "torch": torch.__version__,
        "device": device.type,
        "workers": workers,
        "seconds_total": time.perf_counter() - t_start,
        "n_configs": len(config.settings()),
        "n_runs": len(jobs),
        "n_checked": len(checked),
        "all_identical": bool(checked["identical"].astype(bool).all()),
    }
    results.save(
        folder,
        runs=runs,
        epochs=epochs,
        test=test,
        log=log,
        state_dict=best.state_dict,
        meta=meta,
    )
    return SearchResult(
        config=config,
        runs=runs,
        epochs=epochs,
        selected=selected,
        test=test,
        log=log,
        folder=folder,
        meta=meta,
        loaded_from_cache=False,
    )


def _runs(jobs: list[Job], pairs: list[PairResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [{**p.row(), **j.tags()} for j, p in zip(jobs, pairs, strict=True)]
    )


def _baseline(row: dict) -> dict:
    return {**row, "config": row["run"], "stage": "grid", "protocol": "plain"}
