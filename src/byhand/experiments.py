"""Tasks 8-10: the hyperparameter search, model selection, test evaluation.

Every configuration is trained twice from the same seed, with `train`
(torch.optim.SGD) and with `train_manual_update`, and the two runs must be
bit-identical (parameters after every epoch and loss history).  Results are
saved under a results folder keyed by everything that determines them, so
a second call with the same inputs loads them instead of retraining.

Run it as a command: ``python -m byhand.experiments --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import byhand
from byhand import logformat
from byhand._io import atomic_dir, atomic_write_text
from byhand.data import (
    CatCarSplits,
    DataError,
    cat_car_splits,
    project_root,
)
from byhand.network import MyMLP, linear_baseline
from byhand.training import (
    DivergenceWarning,
    History,
    evaluate,
    predict,
    train,
    train_manual_update,
)

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


def config_from_env() -> SearchConfig:
    """The profile named by ``$BYHAND_SEARCH`` (default or tiny)."""
    name = os.environ.get("BYHAND_SEARCH", "default")
    if name not in PROFILES:
        raise ValueError(
            f"BYHAND_SEARCH={name!r} is not a profile; use one of "
            f"{sorted(PROFILES)}"
        )
    return PROFILES[name]


def results_root() -> Path:
    """``$BYHAND_RESULTS``, else ``results/`` in the project."""
    if os.environ.get("BYHAND_RESULTS"):
        return Path(os.environ["BYHAND_RESULTS"])
    return project_root() / "results"


# Bump when the training code or the saved format changes what a search
# produces: older saved results are then ignored.
RESULTS_VERSION = 2


def cache_key(config: SearchConfig, data_checksum: str) -> str:
    """A digest of the config, the data and the code versions."""
    blob = json.dumps(
        {
            "results_version": RESULTS_VERSION,
            "config": dataclasses.asdict(config),
            "data": data_checksum,
            "byhand": byhand.__version__,
            "torch": torch.__version__,
            "dtype": str(torch.get_default_dtype()),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ------------------------------------------------------------ one config


@dataclass
class PairResult:
    """One configuration trained with SGD and by hand."""

    run: str
    model: str
    source: str
    lr: float
    momentum: float
    weight_decay: float
    sgd: History
    manual: History
    epochs: pd.DataFrame  # per-epoch records
    identical: bool
    max_abs_diff: float
    final: dict[str, float]
    seconds_sgd: float
    seconds_manual: float
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    log_sgd: str = ""
    log_manual: str = ""


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def bitwise_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """0.0 when a and b hold the same floats, NaN for NaN included
    (``torch.equal`` calls two NaNs different); else the largest
    absolute difference (inf where only one side is NaN or inf)."""
    a, b = a.detach(), b.detach()
    # inf == inf holds; NaN against NaN is counted as the same float too.
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    if bool(same.all()):
        return 0.0
    diff = torch.where(same, 0.0, (a - b).abs())
    return diff.nan_to_num(nan=math.inf).max().item()


def train_pair(
    make_model: Callable[[], nn.Module],
    lr: float,
    momentum: float,
    weight_decay: float,
    loaders: dict[str, DataLoader],
    config: SearchConfig,
    *,
    run: str = "run",
    model_name: str = "MyMLP",
    source: str = "grid",
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> PairResult:
    """Train one configuration both ways and compare them bit for bit.

    The SGD run records, after every epoch, the validation loss and
    accuracy; the manual run is checked against the SGD run's parameters
    after every epoch with ``torch.equal``.
    """
    loss_fn = nn.CrossEntropyLoss()
    sgd_states: list[list[torch.Tensor]] = []
    val: list[dict[str, float]] = []

    def after_sgd_epoch(epoch: int, model: nn.Module, loss: float) -> None:
        sgd_states.append(_params(model))
        val.append(evaluate(model, loaders["val"], loss_fn))

    diffs: list[float] = []

    def after_manual_epoch(epoch: int, model: nn.Module, loss: float) -> None:
        if epoch > len(sgd_states):
            diffs.append(math.inf)
            return
        for a, b in zip(
            sgd_states[epoch - 1], model.parameters(), strict=True
        ):
            diffs.append(bitwise_diff(a, b))

    logs = {"sgd": io.StringIO(), "manual": io.StringIO()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        torch.manual_seed(config.seed)
        model_sgd = make_model().to(device)
        optimizer = torch.optim.SGD(
            model_sgd.parameters(),
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
        )
        t0 = time.perf_counter()
        h_sgd = train(
            config.n_epochs,
            optimizer,
            model_sgd,
            loss_fn,
            loaders["train"],
            progress=progress,
            log=logs["sgd"],
            on_epoch=after_sgd_epoch,
        )
        t1 = time.perf_counter()
        torch.manual_seed(config.seed)
        model_manual = make_model().to(device)
        h_manual = train_manual_update(
            config.n_epochs,
            lr,
            model_manual,
            loss_fn,
            loaders["train"],
            weight_decay,
            momentum,
            progress=progress,
            log=logs["manual"],
            on_epoch=after_manual_epoch,
        )
        t2 = time.perf_counter()
    same_final = all(
        bitwise_diff(a, b) == 0.0
        for a, b in zip(
            model_sgd.parameters(), model_manual.parameters(), strict=True
        )
    )
    identical = (
        same_final
        and h_sgd.losses == h_manual.losses
        and h_sgd.diverged == h_manual.diverged
        and all(d == 0.0 for d in diffs)
    )
    n = len(h_sgd.losses)
    epochs = pd.DataFrame(
        {
            "run": run,
            "epoch": range(1, n + 1),
            "train_loss": h_sgd.losses,
            "train_loss_manual": (h_manual.losses + [math.nan] * n)[:n],
            "train_acc_running": h_sgd.accuracies,
            "val_loss": [v["loss"] for v in val],
            "val_acc": [v["accuracy"] for v in val],
        }
    )
    if h_sgd.diverged:
        final = {k: math.nan for k in ("train_acc", "val_acc", "val_loss")}
    else:
        tr = evaluate(model_sgd, loaders["train"], loss_fn)
        final = {
            "train_acc": tr["accuracy"],
            "val_acc": val[-1]["accuracy"],
            "val_loss": val[-1]["loss"],
        }
        if not h_manual.diverged:
            final["train_acc_manual"] = evaluate(
                model_manual, loaders["train"]
            )["accuracy"]
            final["val_acc_manual"] = evaluate(model_manual, loaders["val"])[
                "accuracy"
            ]
    return PairResult(
        run=run,
        model=model_name,
        source=source,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        sgd=h_sgd,
        manual=h_manual,
        epochs=epochs,
        identical=identical,
        max_abs_diff=max(diffs, default=0.0),
        final=final,
        seconds_sgd=t1 - t0,
        seconds_manual=t2 - t1,
        state_dict={
            k: v.detach().cpu().clone()
            for k, v in model_sgd.state_dict().items()
        },
        log_sgd=logs["sgd"].getvalue(),
        log_manual=logs["manual"].getvalue(),
    )


# ------------------------------------------------------------ evaluation


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion k / n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return (centre - half, centre + half)


def evaluate_test(
    model: nn.Module, test_loader: DataLoader, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy with its 95 % CI, confusion matrix, precision and recall.

    Also the test images the model got wrong, most confident first.
    """
    logits, y = predict(model, test_loader)
    prob = torch.softmax(logits, dim=1)
    y_hat = prob.argmax(dim=1)
    k = len(classes)
    cm = torch.zeros(k, k, dtype=torch.int64)
    cm.index_put_((y, y_hat), torch.ones_like(y), accumulate=True)
    n_right = int((y_hat == y).sum())
    per_class = []
    for c, name in enumerate(classes):
        tp = int(cm[c, c])
        predicted = int(cm[:, c].sum())
        actual = int(cm[c, :].sum())
        per_class.append(
            {
                "class": name,
                "precision": tp / predicted if predicted else math.nan,
                "recall": tp / actual if actual else math.nan,
                "support": actual,
            }
        )
    wrong = torch.nonzero(y_hat != y).flatten()
    conf = prob[wrong, y_hat[wrong]]
    order = torch.argsort(conf, descending=True)
    return {
        "n": len(y),
        "accuracy": n_right / len(y),
        "ci95": wilson_interval(n_right, len(y)),
        "confusion": cm.tolist(),
        "per_class": per_class,
        "misclassified": [
            {
                "index": int(wrong[i]),
                "true": classes[int(y[wrong[i]])],
                "predicted": classes[int(y_hat[wrong[i]])],
                "confidence": float(conf[i]),
            }
            for i in order.tolist()
        ],
    }


# ---------------------------------------------------------------- search


@dataclass
class SearchResult:
    """What the search produced, as saved in its results folder."""

    config: SearchConfig
    runs: pd.DataFrame  # one row per configuration and baseline
    epochs: pd.DataFrame  # one row per (run, epoch)
    selected: str  # run id of the selected model
    test: dict[str, Any]  # evaluate_test of the selected model
    log: str  # gradient_descent_output.txt
    folder: Path
    meta: dict[str, Any]
    loaded_from_cache: bool = False

    def selected_row(self) -> pd.Series:
        return self.runs.set_index("run").loc[self.selected]

    def selected_model(self) -> MyMLP:
        """The selected MyMLP with its trained parameters."""
        model = MyMLP(hidden=self.config.hidden)
        state = torch.load(self.folder / "model.pt", weights_only=True)
        model.load_state_dict(state)
        return model


def select(runs: pd.DataFrame) -> str:
    """Argmax of validation accuracy over the MyMLP runs that trained.

    Ties go to the lower validation loss, then to the earlier run (the
    course's settings come first).  Baselines are never selected.
    """
    ok = runs[(runs["model"] == "MyMLP") & ~runs["diverged"]]
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


def _majority_row(splits: CatCarSplits) -> dict[str, Any]:
    y_train = splits.train.tensors[1]
    majority = int(torch.bincount(y_train).argmax())
    y_val = splits.val.tensors[1]
    return {
        "run": "majority",
        "model": "majority class",
        "source": "baseline",
        "lr": math.nan,
        "momentum": math.nan,
        "weight_decay": math.nan,
        "diverged": False,
        "epochs_run": 0,
        "identical": True,
        "max_abs_diff": 0.0,
        "final_train_loss": math.nan,
        "train_acc": (y_train == majority).double().mean().item(),
        "val_acc": (y_val == majority).double().mean().item(),
        "val_loss": math.nan,
        "seconds_sgd": 0.0,
        "seconds_manual": 0.0,
    }


def _row(p: PairResult) -> dict[str, Any]:
    return {
        "run": p.run,
        "model": p.model,
        "source": p.source,
        "lr": p.lr,
        "momentum": p.momentum,
        "weight_decay": p.weight_decay,
        "diverged": p.sgd.diverged,
        "epochs_run": len(p.sgd.losses),
        "identical": p.identical,
        "max_abs_diff": p.max_abs_diff,
        "final_train_loss": p.sgd.losses[-1] if p.sgd.losses else math.nan,
        "train_acc": p.final["train_acc"],
        "val_acc": p.final["val_acc"],
        "val_loss": p.final["val_loss"],
        "seconds_sgd": p.seconds_sgd,
        "seconds_manual": p.seconds_manual,
    }


def _course_log(
    pairs: list[PairResult], config: SearchConfig, device: str
) -> str:
    parts = [
        logformat.global_header(
            device,
            config.batch_size,
            config.n_epochs,
            "CrossEntropyLoss()",
            config.seed,
        )
    ]
    for p in pairs:
        parts.append(logformat.config_header(p.lr, p.momentum, p.weight_decay))
        for header, text, hist, suffix in (
            (logformat.SGD_HEADER, p.log_sgd, p.sgd, ""),
            (logformat.MANUAL_HEADER, p.log_manual, p.manual, "_manual"),
        ):
            parts.append(header)
            if text:
                parts.append(text.rstrip("\n"))
            if hist.diverged:
                parts.append(hist.message)
            else:
                parts.append(
                    logformat.accuracies_block(
                        p.final["train_acc" + suffix],
                        p.final["val_acc" + suffix],
                    )
                )
    return "\n".join(parts) + "\n"


def _load(folder: Path, config: SearchConfig) -> SearchResult:
    meta = json.loads((folder / "meta.json").read_text())
    return SearchResult(
        config=config,
        runs=pd.read_csv(folder / "runs.csv"),
        epochs=pd.read_csv(folder / "epochs.csv"),
        selected=meta["selected"],
        test=json.loads((folder / "test.json").read_text()),
        log=(folder / "gradient_descent_output.txt").read_text(),
        folder=folder,
        meta=meta,
        loaded_from_cache=True,
    )


def run_search(
    splits: CatCarSplits,
    config: SearchConfig | None = None,
    *,
    results_dir: Path | None = None,
    progress: bool | None = None,
    force: bool = False,
    device: torch.device | str | None = None,
) -> SearchResult:
    """Train, compare, select and evaluate; or load the saved results.

    The test set is evaluated once, for the selected model only.
    """
    config = config or SearchConfig()
    if progress is None:
        progress = sys.stderr.isatty()
    device = torch.device(
        device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    key = cache_key(config, f"{splits.checksum}:{splits.seed}")
    folder = (results_dir or results_root()) / f"search-{key}"
    if not force and (folder / "meta.json").exists():
        try:
            return _load(folder, config)
        except Exception as err:
            warnings.warn(
                f"saved results in {folder} are unreadable ({err}); "
                "training again",
                stacklevel=2,
            )
    loaders = {
        name: DataLoader(
            getattr(splits, name), batch_size=config.batch_size, shuffle=False
        )
        for name in ("train", "val")
    }  # the test set stays out of the search
    n_in = splits.train.tensors[0][0].numel()
    n_out = len(splits.classes)
    settings = config.settings()
    jobs: list[tuple[str, str, str, Callable[[], nn.Module], tuple]] = [
        (
            f"{source}-{i:02d}",
            "MyMLP",
            source,
            lambda: MyMLP(n_in=n_in, hidden=config.hidden, n_out=n_out),
            (lr, mom, wd),
        )
        for i, (source, lr, mom, wd) in enumerate(settings)
    ]
    jobs.append(
        (
            "linear",
            f"linear ({n_in} to {n_out})",
            "baseline",
            lambda: linear_baseline(n_in=n_in, n_out=n_out),
            (config.baseline_lr, 0.0, 0.0),
        )
    )
    t_start = time.perf_counter()
    pairs: list[PairResult] = []
    bar = tqdm(jobs, desc="search", unit="config", disable=not progress)
    for run, model_name, source, make, (lr, mom, wd) in bar:
        bar.set_postfix_str(f"lr={lr:g} mom={mom:g} wd={wd:g}")
        pairs.append(
            train_pair(
                make,
                lr,
                mom,
                wd,
                loaders,
                config,
                run=run,
                model_name=model_name,
                source=source,
                device=device,
                progress=progress,
            )
        )
    runs = pd.DataFrame([_row(p) for p in pairs] + [_majority_row(splits)])
    epochs = pd.concat([p.epochs for p in pairs], ignore_index=True)
    selected = select(runs)
    runs["selected"] = runs["run"] == selected
    best = next(p for p in pairs if p.run == selected)
    model = MyMLP(n_in=n_in, hidden=config.hidden, n_out=n_out).to(device)
    model.load_state_dict(best.state_dict)
    # The one and only look at the test set.
    test_loader = DataLoader(
        splits.test, batch_size=config.batch_size, shuffle=False
    )
    test = evaluate_test(model, test_loader, splits.classes)
    course_pairs = [p for p in pairs if p.source == "course"]
    log = _course_log(course_pairs, config, device.type)
    meta = {
        "selected": selected,
        "key": key,
        "config": dataclasses.asdict(config),
        "data_checksum": splits.checksum,
        "split_seed": splits.seed,
        "sizes": splits.sizes,
        "classes": splits.classes,
        "byhand": byhand.__version__,
        "torch": torch.__version__,
        "device": device.type,
        "seconds_total": time.perf_counter() - t_start,
        "n_configs": len(settings),
        "all_identical": bool(runs["identical"].all()),
    }

    def fill(tmp: Path) -> None:
        runs.to_csv(tmp / "runs.csv", index=False)
        epochs.to_csv(tmp / "epochs.csv", index=False)
        (tmp / "test.json").write_text(json.dumps(test, indent=1))
        (tmp / "gradient_descent_output.txt").write_text(log)
        torch.save(best.state_dict, tmp / "model.pt")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))

    atomic_dir(folder, fill)
    result = _load(folder, config)
    result.loaded_from_cache = False
    return result


# ----------------------------------------------------------- reporting


def results_table(result: SearchResult) -> pd.DataFrame:
    """The runs as the report shows them, the selected one marked."""
    runs = result.runs
    # Narrow enough for a PDF page; the run id says course/grid/baseline.
    table = pd.DataFrame(
        {
            "selected": ["SELECTED" if s else "" for s in runs["selected"]],
            "model": runs["model"],
            "lr": runs["lr"],
            "mom.": runs["momentum"],
            "wd": runs["weight_decay"],
            "train acc.": runs["train_acc"],
            "val. acc.": runs["val_acc"],
            "val. loss": runs["val_loss"],
            "SGD = manual": runs["identical"].map({True: "yes", False: "NO"}),
            "status": runs["diverged"].map(
                {True: "diverged", False: "trained"}
            ),
        }
    )
    table.index = pd.Index(runs["run"], name="run")
    return table


TASKS_5_TO_7 = (
    ("5: plain", (0.01, 0.0, 0.0)),
    ("6: weight decay", (0.01, 0.0, 0.01)),
    ("7: momentum", (0.01, 0.9, 0.0)),
)


def comparison_table(result: SearchResult) -> pd.DataFrame:
    """Tasks 5-7: SGD against the manual update, per setting.

    The final training loss of each, whether every epoch's loss is the
    same float, and the largest parameter difference over all epochs.
    """
    runs = result.runs[result.runs["model"] == "MyMLP"]
    rows = []
    for task, (lr, mom, wd) in TASKS_5_TO_7:
        hit = runs[
            (runs["lr"] == lr)
            & (runs["momentum"] == mom)
            & (runs["weight_decay"] == wd)
        ]
        if hit.empty:
            continue
        row = hit.iloc[0]
        ep = result.epochs[result.epochs["run"] == row["run"]]
        rows.append(
            {
                "task": task,
                "lr": lr,
                "momentum": mom,
                "weight decay": wd,
                "epochs": len(ep),
                "loss SGD": ep["train_loss"].iloc[-1],
                "loss manual": ep["train_loss_manual"].iloc[-1],
                "losses identical": bool(
                    (ep["train_loss"] == ep["train_loss_manual"]).all()
                ),
                "max abs. param. diff.": row["max_abs_diff"],
            }
        )
    return pd.DataFrame(rows).set_index("task")


def test_table(result: SearchResult) -> pd.DataFrame:
    """The selected model's test evaluation as a small table."""
    t = result.test
    lo, hi = t["ci95"]
    rows = [
        {
            "metric": "accuracy",
            "value": t["accuracy"],
            "note": f"95 % CI [{lo:.3f}, {hi:.3f}], n = {t['n']}",
        },
    ]
    for c in t["per_class"]:
        rows.append(
            {
                "metric": f"precision ({c['class']})",
                "value": c["precision"],
                "note": "",
            }
        )
        rows.append(
            {
                "metric": f"recall ({c['class']})",
                "value": c["recall"],
                "note": f"support {c['support']}",
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def confusion_table(result: SearchResult) -> pd.DataFrame:
    classes = result.meta["classes"]
    return pd.DataFrame(
        result.test["confusion"],
        index=pd.Index([f"true {c}" for c in classes]),
        columns=[f"predicted {c}" for c in classes],
    )


# ------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m byhand.experiments",
        description="Run the hyperparameter search of tasks 8-10 (or load "
        "its saved results) and write gradient_descent_output.txt.",
    )
    parser.add_argument("--root", help="CIFAR-10 root (else $CIFAR10_ROOT)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="search size (default: $BYHAND_SEARCH or 'default')",
    )
    parser.add_argument("--results", type=Path, help="results folder")
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="where to write the course-format log (default: "
        "gradient_descent_output.txt in the project)",
    )
    parser.add_argument("--force", action="store_true", help="retrain")
    parser.add_argument(
        "--no-progress", action="store_true", help="hide progress bars"
    )
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    config = PROFILES[args.profile] if args.profile else config_from_env()
    t0 = time.perf_counter()
    try:
        splits = cat_car_splits(
            args.root, val_fraction=config.val_fraction, seed=config.split_seed
        )
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = run_search(
        splits,
        config,
        results_dir=args.results,
        force=args.force,
        progress=False if args.no_progress else None,
    )
    log_path = args.log or project_root() / "gradient_descent_output.txt"
    atomic_write_text(log_path, result.log)
    with pd.option_context("display.width", 120, "display.max_rows", 100):
        print(results_table(result).round(4).to_string())
        print()
        print(test_table(result).round(4).to_string())
    how = "loaded from" if result.loaded_from_cache else "saved to"
    print(
        f"\n{result.meta['n_configs']} configurations (+ 2 baselines), "
        f"SGD and manual identical: {result.meta['all_identical']}; "
        f"results {how} {result.folder}; log written to {log_path}; "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0 if result.meta["all_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
