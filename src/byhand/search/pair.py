"""Tasks 5-7: one configuration trained with SGD and by hand from one
seed, their parameters compared bit for bit after every epoch."""

from __future__ import annotations

import io
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from byhand.search.evaluation import dead_relu_fraction, evaluate
from byhand.training import train, train_manual_update
from byhand.watch import DivergenceWarning, History

# The columns of one row of runs.csv, in order.
RUN_COLUMNS = (
    "run", "model", "source", "lr", "momentum", "weight_decay", "seed",
    "diverged", "epochs_run", "checked", "identical", "max_abs_diff",
    "final_train_loss", "train_acc", "val_acc", "val_loss", "dead_relu",
    "seconds_sgd", "seconds_manual",
)  # fmt: skip


@dataclass(kw_only=True)
class PairResult:
    """One configuration trained with SGD and by hand."""

    run: str
    model: str
    source: str
    lr: float
    momentum: float
    weight_decay: float
    seed: int
    checked: bool  # both trainers ran (else SGD only)
    sgd: History
    manual: History
    epochs: pd.DataFrame  # one row per epoch
    identical: bool
    max_abs_diff: float
    final: dict[str, float]
    seconds_sgd: float
    seconds_manual: float
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    log_sgd: str = ""
    log_manual: str = ""

    def row(self) -> dict[str, Any]:
        """This run as one row of runs.csv (`RUN_COLUMNS`)."""
        losses = self.sgd.losses
        fields = {
            **vars(self),
            **self.final,  # train_acc, val_acc, val_loss, dead_relu
            "diverged": self.sgd.diverged,
            "epochs_run": len(losses),
            "final_train_loss": losses[-1] if losses else math.nan,
        }
        return {c: fields[c] for c in RUN_COLUMNS}


def majority_row(y_train: torch.Tensor, y_val: torch.Tensor) -> dict:
    """The majority-class baseline as a row of runs.csv."""
    majority = int(torch.bincount(y_train).argmax())
    row: dict[str, Any] = dict.fromkeys(RUN_COLUMNS, math.nan)
    row.update(
        run="majority",
        model="majority class",
        source="baseline",
        diverged=False,
        epochs_run=0,
        checked=False,
        identical=False,
        train_acc=(y_train == majority).double().mean().item(),
        val_acc=(y_val == majority).double().mean().item(),
        seconds_sgd=0.0,
        seconds_manual=0.0,
    )
    return row


def bitwise_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """0.0 when a and b hold the same floats, NaN against NaN included;
    else the largest absolute difference (inf where one side is NaN)."""
    a, b = a.detach(), b.detach()
    if a.shape != b.shape:
        return math.inf
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    if bool(same.all()):
        return 0.0
    diff = torch.where(same, 0.0, (a - b).abs())
    return diff.nan_to_num(nan=math.inf).max().item()


@dataclass
class _Trained:
    """One trainer's run: its parameters after every epoch, its seconds
    (training alone) and its course-format log lines."""

    model: nn.Module | None = None  # None: not trained (SGD only)
    history: History = field(default_factory=History)
    states: list[list[torch.Tensor]] = field(default_factory=list)
    seconds: float = math.nan
    log: str = ""


def _trained(
    trainer: Callable[..., History],
    args: tuple,
    after_epoch: Callable[[nn.Module], object] = lambda model: None,
) -> _Trained:
    """``trainer(*args)`` (``args[2]`` the model), its parameters kept
    after every epoch; timed without that nor ``after_epoch``."""
    out, log = _Trained(model=args[2]), io.StringIO()
    t0 = time.perf_counter()

    def on_epoch(epoch: int, model: nn.Module, loss: float) -> None:
        nonlocal t0
        t = time.perf_counter()
        out.states.append([p.detach().clone() for p in model.parameters()])
        after_epoch(model)
        t0 += time.perf_counter() - t  # not training: not timed

    out.history = trainer(*args, progress=False, log=log, on_epoch=on_epoch)
    out.seconds, out.log = time.perf_counter() - t0, log.getvalue()
    return out


def train_pair(
    make_model: Callable[[], nn.Module],
    loaders: dict[str, DataLoader],
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    n_epochs: int,
    seed: int,
    run: str = "run",
    model_name: str = "MyMLP",
    source: str = "grid",
    device: torch.device | str = "cpu",
    check: bool = True,
    manual_trainer: Callable[..., History] = train_manual_update,
) -> PairResult:
    """Train with SGD and by hand from ``seed``, compared after every
    epoch.  ``check=False``: SGD only; ``manual_trainer``: for tests."""
    hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
    val: list[dict[str, float]] = []  # the SGD model's, after every epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        torch.manual_seed(seed)  # section 3.3: same seed, same init
        model = make_model().to(device)
        optimizer = torch.optim.SGD(model.parameters(), **hyper)
        args = (n_epochs, optimizer, model, nn.CrossEntropyLoss(),
                loaders["train"])  # fmt: skip
        sgd = _trained(
            train, args, lambda m: val.append(evaluate(m, loaders["val"]))
        )
        manual = _Trained()
        if check:
            torch.manual_seed(seed)
            args = (n_epochs, lr, make_model().to(device),
                    nn.CrossEntropyLoss(), loaders["train"], weight_decay,
                    momentum)  # fmt: skip
            manual = _trained(manual_trainer, args)
    return PairResult(
        run=run, model=model_name, source=source, **hyper, seed=seed,
        checked=check, sgd=sgd.history, manual=manual.history,
        epochs=_epochs_table(run, sgd, manual, val),
        **_verdict(sgd, manual),
        final=_final_metrics(sgd, manual, loaders, val),
        seconds_sgd=sgd.seconds, seconds_manual=manual.seconds,
        state_dict={k: v.detach().cpu().clone()
                    for k, v in model.state_dict().items()},
        log_sgd=sgd.log, log_manual=manual.log,
    )  # fmt: skip


def _verdict(sgd: _Trained, manual: _Trained) -> dict[str, Any]:
    """identical: every epoch's parameters, the final ones, the losses
    and the divergence agree; max_abs_diff: the largest difference."""
    if manual.model is None:  # SGD only
        return {"identical": False, "max_abs_diff": math.nan}
    final = (sgd.model.parameters(), manual.model.parameters())
    diffs = [
        bitwise_diff(a, b)
        for s, m in [*zip(sgd.states, manual.states, strict=False), final]
        for a, b in zip(s, m, strict=True)
    ]
    if len(manual.states) > len(sgd.states):
        diffs.append(math.inf)  # the SGD run stopped earlier
    # Equal loss lists also mean both runs lasted the same epochs.
    identical = (
        sgd.history.losses == manual.history.losses
        and sgd.history.diverged == manual.history.diverged
        and all(d == 0.0 for d in diffs)
    )
    return {"identical": identical, "max_abs_diff": max(diffs, default=0.0)}


def _epochs_table(
    run: str, sgd: _Trained, manual: _Trained, val: list[dict]
) -> pd.DataFrame:
    """One row per epoch of the SGD run (epochs.csv)."""
    n = len(sgd.history.losses)
    return pd.DataFrame(
        {
            "run": run,
            "epoch": range(1, n + 1),
            "train_loss": sgd.history.losses,
            "train_loss_manual": (manual.history.losses + [math.nan] * n)[:n],
            "train_acc_running": sgd.history.accuracies,
            "val_loss": [v["loss"] for v in val],
            "val_acc": [v["accuracy"] for v in val],
        }
    )


def _final_metrics(
    sgd: _Trained,
    manual: _Trained,
    loaders: dict[str, DataLoader],
    val: list[dict[str, float]],
) -> dict[str, float]:
    """Accuracies and loss after training; NaN for a diverged run."""
    if sgd.history.diverged:
        return dict.fromkeys(
            ("train_acc", "val_acc", "val_loss", "dead_relu"), math.nan
        )
    final = {
        "train_acc": evaluate(sgd.model, loaders["train"])["accuracy"],
        "val_acc": val[-1]["accuracy"],
        "val_loss": val[-1]["loss"],
        "dead_relu": dead_relu_fraction(sgd.model, loaders["val"]),
    }
    if manual.model is not None and not manual.history.diverged:
        for split in ("train", "val"):
            final[f"{split}_acc_manual"] = evaluate(
                manual.model, loaders[split]
            )["accuracy"]
    return final
