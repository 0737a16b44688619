"""Tasks 8-9: the hyperparameter search and the selection of one model.

Every configuration is trained twice from the same seed, with `train`
(torch.optim.SGD) and with `train_manual_update` (`byhand.compare`); the
two runs must be bit-identical.  The selected model alone is evaluated
on the test set (`byhand.evaluation`), and everything is saved in a
results folder (`byhand.results`) that a second call loads.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

import byhand
from byhand import logformat, results
from byhand.compare import PairResult, majority_row, train_pair
from byhand.data import CatCarSplits, dataloaders
from byhand.evaluation import evaluate_test
from byhand.network import MyMLP, linear_baseline
from byhand.results import SearchResult

# The course's six settings (gradient_descent_output.txt): lr 0.01 with
# (momentum, weight decay) =
COURSE_SETTINGS = (
    (0.01, 0.0, 0.0),
    (0.01, 0.0, 0.01),
    (0.01, 0.9, 0.0),
    (0.01, 0.9, 0.01),
    (0.01, 0.9, 0.001),
    (0.01, 0.8, 0.01),
)


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines the search's results (the cache key)."""

    seed: int = 265  # torch.manual_seed(seed) before each model, as the course
    batch_size: int = 256
    n_epochs: int = 30
    val_fraction: float = 0.1  # of the official training set
    split_seed: int = 42
    course: tuple[tuple[float, float, float], ...] = COURSE_SETTINGS
    # The grid: every (lr, momentum, weight decay) combination of these;
    # lr 0.01 is covered by the course's settings (and a 5-minute budget).
    grid_lr: tuple[float, ...] = (0.001, 0.1, 1.0)
    grid_momentum: tuple[float, ...] = (0.0, 0.9)
    grid_weight_decay: tuple[float, ...] = (0.0, 0.1)
    baseline_lr: float = 0.01  # the linear baseline, trained like MyMLP
    hidden: tuple[int, ...] = (128, 32)

    def settings(self) -> list[tuple[str, float, float, float]]:
        """(source, lr, momentum, weight decay): the course's six first."""
        out = [("course", *s) for s in self.course]
        seen = {s[1:] for s in out}
        for lr in self.grid_lr:
            for mom in self.grid_momentum:
                for wd in self.grid_weight_decay:
                    if (lr, mom, wd) not in seen:
                        seen.add((lr, mom, wd))
                        out.append(("grid", lr, mom, wd))
        return out


# A search small enough for tests and quick renders; each value shrunk.
TINY = SearchConfig(
    batch_size=8,  # a few batches per epoch on a tiny data set
    n_epochs=3,  # enough to see the loss move
    val_fraction=0.2,  # a tiny data set needs a bigger share to validate
    course=COURSE_SETTINGS[:2],  # plain and weight decay
    grid_lr=(0.05, 1e6),  # a sensible rate and one that diverges
    grid_momentum=(0.9,),
    grid_weight_decay=(0.0,),
    hidden=(16, 8),  # a smaller MLP trains in milliseconds
)
PROFILES = {"default": SearchConfig(), "tiny": TINY}


class ProfileError(ValueError):
    """``$BYHAND_SEARCH`` names no search profile."""


def config_from_env() -> SearchConfig:
    """The profile named by ``$BYHAND_SEARCH`` (default or tiny)."""
    name = os.environ.get("BYHAND_SEARCH", "default")
    if name not in PROFILES:
        raise ProfileError(
            f"BYHAND_SEARCH={name!r} is not a search profile; set it to one "
            f"of {sorted(PROFILES)} or unset it"
        )
    return PROFILES[name]


def select(runs: pd.DataFrame) -> str:
    """Argmax of validation accuracy over the MyMLP runs that trained.

    Ties go to the lower validation loss, then to the earlier run (the
    course's settings come first).  Baselines are never selected.
    """
    ok = runs[(runs["model"] == "MyMLP") & ~runs["diverged"].astype(bool)]
    ok = ok.dropna(subset=["val_acc"])
    if ok.empty:
        raise RuntimeError(
            "every configuration diverged: no model to select; lower the "
            "learning rates of the search"
        )
    ranked = ok.assign(order=range(len(ok))).sort_values(
        ["val_acc", "val_loss", "order"], ascending=[False, True, True]
    )
    return str(ranked.iloc[0]["run"])


@dataclass(frozen=True)
class _Job:
    run: str
    model_name: str
    source: str
    make: Callable[[], nn.Module]
    lr: float
    momentum: float
    weight_decay: float


def _jobs(config: SearchConfig, n_in: int, n_out: int) -> list[_Job]:
    """Every MyMLP configuration, then the linear baseline."""

    def mlp() -> nn.Module:
        return MyMLP(n_in=n_in, hidden=config.hidden, n_out=n_out)

    def linear() -> nn.Module:
        return linear_baseline(n_in=n_in, n_out=n_out)

    jobs = [
        _Job(f"{source}-{i:02d}", "MyMLP", source, mlp, lr, mom, wd)
        for i, (source, lr, mom, wd) in enumerate(config.settings())
    ]
    jobs.append(
        _Job(
            "linear",
            f"linear ({n_in} to {n_out})",
            "baseline",
            linear,
            config.baseline_lr,
            0.0,
            0.0,
        )
    )
    return jobs


def run_search(
    splits: CatCarSplits,
    config: SearchConfig | None = None,
    *,
    results_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
    force: bool = False,
    device: torch.device | str | None = None,
) -> SearchResult:
    """Train, compare, select and evaluate; or load the saved results.

    The test set is evaluated once, for the selected model only.  Saved
    results that fail a check are reported with a warning and retrained.
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
        return _search(splits, config, folder, key, progress, device)


def _search(
    splits: CatCarSplits,
    config: SearchConfig,
    folder: Path,
    key: str,
    progress: bool,
    device: torch.device,
) -> SearchResult:
    loaders = dataloaders(splits, config.batch_size)
    test_loader = loaders.pop("test")  # the test set stays out of the search
    n_in = splits.train.tensors[0][0].numel()
    n_out = len(splits.classes)
    jobs = _jobs(config, n_in, n_out)
    t_start = time.perf_counter()
    pairs: list[PairResult] = []
    bar = tqdm(jobs, desc="search", unit="config", disable=not progress)
    for job in bar:
        bar.set_postfix_str(
            f"lr={job.lr:g} mom={job.momentum:g} wd={job.weight_decay:g}"
        )
        pairs.append(
            train_pair(
                job.make,
                loaders,
                lr=job.lr,
                momentum=job.momentum,
                weight_decay=job.weight_decay,
                n_epochs=config.n_epochs,
                seed=config.seed,
                run=job.run,
                model_name=job.model_name,
                source=job.source,
                device=device,
                progress=progress,
            )
        )
    y_train = splits.train.tensors[1]
    y_val = splits.val.tensors[1]
    runs = pd.DataFrame(
        [p.row() for p in pairs] + [majority_row(y_train, y_val)]
    )
    epochs = pd.concat([p.epochs for p in pairs], ignore_index=True)
    selected = select(runs)
    runs["selected"] = runs["run"] == selected
    best = next(p for p in pairs if p.run == selected)
    model = MyMLP(n_in=n_in, hidden=config.hidden, n_out=n_out).to(device)
    model.load_state_dict(best.state_dict)
    # The one and only look at the test set.
    test = evaluate_test(model, test_loader, splits.classes)
    course = [p for p in pairs if p.source == "course"]
    log = logformat.course_log(
        course,
        device=device.type,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        seed=config.seed,
    )
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
        "seconds_total": time.perf_counter() - t_start,
        "n_configs": len(jobs) - 1,
        "all_identical": bool(runs["identical"].all()),
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
