"""Tasks 5-7: one configuration trained with SGD and by hand, compared.

Both trainers start from the same seed; after every epoch the manual
run's parameters are compared with the SGD run's, float for float.
"""

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
from byhand.training import (
    DivergenceWarning,
    History,
    train,
    train_manual_update,
)

# The columns of one row of runs.csv, in order.
RUN_COLUMNS = (
    "run", "model", "source", "lr", "momentum", "weight_decay", "seed",
    "diverged", "epochs_run", "checked", "identical", "max_abs_diff",
    "final_train_loss", "train_acc", "val_acc", "val_loss", "dead_relu",
    "seconds_sgd", "seconds_manual",
)  # fmt: skip


@dataclass
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
    epochs: pd.DataFrame  # per-epoch records
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
        return {
            "run": self.run,
            "model": self.model,
            "source": self.source,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "diverged": self.sgd.diverged,
            "epochs_run": len(self.sgd.losses),
            "checked": self.checked,
            "identical": self.identical,
            "max_abs_diff": self.max_abs_diff,
            "final_train_loss": (
                self.sgd.losses[-1] if self.sgd.losses else math.nan
            ),
            "train_acc": self.final["train_acc"],
            "val_acc": self.final["val_acc"],
            "val_loss": self.final["val_loss"],
            "dead_relu": self.final["dead_relu"],
            "seconds_sgd": self.seconds_sgd,
            "seconds_manual": self.seconds_manual,
        }


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


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def bitwise_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """0.0 when a and b hold the same floats, NaN for NaN included
    (``torch.equal`` calls two NaNs different); else the largest
    absolute difference (inf where only one side is NaN or inf)."""
    a, b = a.detach(), b.detach()
    if a.shape != b.shape:
        return math.inf
    # inf == inf holds; NaN against NaN is counted as the same float too.
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    if bool(same.all()):
        return 0.0
    diff = torch.where(same, 0.0, (a - b).abs())
    return diff.nan_to_num(nan=math.inf).max().item()


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
    progress: bool = False,
    check: bool = True,
    tick: Callable[[], None] | None = None,
    manual_trainer: Callable[..., History] = train_manual_update,
) -> PairResult:
    """Train one configuration both ways and compare them bit for bit.

    The SGD run records, after every epoch, the validation loss and
    accuracy; the manual run's parameters are compared with the SGD run's
    after every epoch with `bitwise_diff`.  With ``check=False`` only the
    SGD run trains (``identical`` is then False and ``checked`` False).
    ``tick()`` runs after every epoch of either trainer (progress);
    ``manual_trainer`` is `train_manual_update` (another one lets a test
    show that the check fails).
    """
    loss_fn = nn.CrossEntropyLoss()
    sgd_states: list[list[torch.Tensor]] = []
    val: list[dict[str, float]] = []
    # Seconds spent in the callbacks, taken out of the training times so
    # that both trainers are timed on training alone.
    overhead = {"sgd": 0.0, "manual": 0.0}

    def after_sgd_epoch(epoch: int, model: nn.Module, loss: float) -> None:
        t = time.perf_counter()
        sgd_states.append(_params(model))
        val.append(evaluate(model, loaders["val"], loss_fn))
        if tick is not None:
            tick()
        overhead["sgd"] += time.perf_counter() - t

    diffs: list[float] = []

    def after_manual_epoch(epoch: int, model: nn.Module, loss: float) -> None:
        t = time.perf_counter()
        if epoch > len(sgd_states):
            diffs.append(math.inf)  # the SGD run stopped earlier
        else:
            for a, b in zip(
                sgd_states[epoch - 1], model.parameters(), strict=True
            ):
                diffs.append(bitwise_diff(a, b))
        if tick is not None:
            tick()
        overhead["manual"] += time.perf_counter() - t

    logs = {"sgd": io.StringIO(), "manual": io.StringIO()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        torch.manual_seed(seed)  # section 3.3: same seed, same init
        model_sgd = make_model().to(device)
        optimizer = torch.optim.SGD(
            model_sgd.parameters(),
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
        )
        t0 = time.perf_counter()
        h_sgd = train(
            n_epochs,
            optimizer,
            model_sgd,
            loss_fn,
            loaders["train"],
            progress=progress,
            log=logs["sgd"],
            on_epoch=after_sgd_epoch,
        )
        t1 = time.perf_counter()
        h_manual = History()
        if check:
            torch.manual_seed(seed)
            model_manual = make_model().to(device)
            h_manual = manual_trainer(
                n_epochs,
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
    identical, max_abs_diff = False, math.nan  # SGD only: nothing checked
    if check:
        diffs += [
            bitwise_diff(a, b)
            for a, b in zip(
                model_sgd.parameters(), model_manual.parameters(), strict=True
            )
        ]
        # Equal loss lists also mean both runs lasted the same epochs.
        identical = (
            h_sgd.losses == h_manual.losses
            and h_sgd.diverged == h_manual.diverged
            and all(d == 0.0 for d in diffs)
        )
        max_abs_diff = max(diffs, default=0.0)
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
        final = dict.fromkeys(
            ("train_acc", "val_acc", "val_loss", "dead_relu"), math.nan
        )
    else:
        final = {
            "train_acc": evaluate(model_sgd, loaders["train"])["accuracy"],
            "val_acc": val[-1]["accuracy"],
            "val_loss": val[-1]["loss"],
            "dead_relu": dead_relu_fraction(model_sgd, loaders["val"]),
        }
        if check and not h_manual.diverged:
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
        seed=seed,
        checked=check,
        sgd=h_sgd,
        manual=h_manual,
        epochs=epochs,
        identical=identical,
        max_abs_diff=max_abs_diff,
        final=final,
        seconds_sgd=t1 - t0 - overhead["sgd"],
        seconds_manual=(t2 - t1 - overhead["manual"]) if check else math.nan,
        state_dict={
            k: v.detach().cpu().clone()
            for k, v in model_sgd.state_dict().items()
        },
        log_sgd=logs["sgd"].getvalue(),
        log_manual=logs["manual"].getvalue(),
    )
