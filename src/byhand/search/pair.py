"""Tasks 5-7: one configuration trained with SGD and by hand, compared.

Both trainers start from the same seed; after every epoch the manual
run's parameters are compared with the SGD run's, float for float.
Long because (about 330 lines) the record of a pair (`PairResult`, its
row of runs.csv) and the small steps that fill it are read together.
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
from byhand.training import train, train_manual_update
from byhand.watch import DivergenceWarning, History

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
        losses = self.sgd.losses
        derived = {
            **self.final,  # train_acc, val_acc, val_loss, dead_relu
            "diverged": self.sgd.diverged,
            "epochs_run": len(losses),
            "final_train_loss": losses[-1] if losses else math.nan,
        }
        return {
            c: derived[c] if c in derived else getattr(self, c)
            for c in RUN_COLUMNS
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
    """Train one configuration with SGD and by hand; compare bit for bit.

    After every epoch: the SGD run's validation loss and accuracy, and the
    `bitwise_diff` of both runs' parameters. ``check=False`` trains SGD
    only (``identical`` and ``checked`` False); ``tick()`` runs after every
    epoch of either trainer; another ``manual_trainer`` shows a test that
    the check fails.
    """
    setup = _Setup(
        make_model=make_model,
        loaders=loaders,
        hyper={"lr": lr, "momentum": momentum, "weight_decay": weight_decay},
        n_epochs=n_epochs,
        seed=seed,
        device=device,
        progress=progress,
        tick=tick,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        sgd = _train_sgd(setup)
        manual = _train_manual(setup, sgd, manual_trainer) if check else None
    return _result(
        setup, sgd, manual, run=run, model=model_name, source=source
    )


@dataclass(frozen=True)
class _Setup:
    """What both trainers of a pair share."""

    make_model: Callable[[], nn.Module]
    loaders: dict[str, DataLoader]
    hyper: dict[str, float]  # lr, momentum, weight_decay
    n_epochs: int
    seed: int
    device: torch.device | str
    progress: bool
    tick: Callable[[], None] | None

    def fresh_model(self) -> nn.Module:
        torch.manual_seed(self.seed)  # section 3.3: same seed, same init
        return self.make_model().to(self.device)

    def timed(
        self,
        trainer: Callable[..., History],
        args: tuple,
        after_epoch: Callable[[int, nn.Module], None],
    ) -> tuple[History, float, str]:
        """``trainer(*args)``: its history, its seconds without the time
        of ``after_epoch`` and ``tick`` (training alone), its log."""
        overhead = 0.0

        def on_epoch(epoch: int, model: nn.Module, loss: float) -> None:
            nonlocal overhead
            t = time.perf_counter()
            after_epoch(epoch, model)
            if self.tick is not None:
                self.tick()
            overhead += time.perf_counter() - t

        log = io.StringIO()
        t0 = time.perf_counter()
        history = trainer(
            *args, progress=self.progress, log=log, on_epoch=on_epoch
        )
        seconds = time.perf_counter() - t0 - overhead
        return history, seconds, log.getvalue()


@dataclass
class _Trained:
    """One trainer's run and what was recorded after each epoch."""

    model: nn.Module
    history: History
    seconds: float  # training alone
    log: str  # the course's log lines
    per_epoch: list = field(default_factory=list)  # parameters or diffs
    val: list[dict[str, float]] = field(default_factory=list)


def _train_sgd(setup: _Setup) -> _Trained:
    """`train` with torch.optim.SGD; after every epoch, the parameters and
    the validation loss and accuracy."""
    model = setup.fresh_model()
    optimizer = torch.optim.SGD(model.parameters(), **setup.hyper)
    loss_fn = nn.CrossEntropyLoss()
    states: list[list[torch.Tensor]] = []
    val: list[dict[str, float]] = []

    def after_epoch(epoch: int, model: nn.Module) -> None:
        states.append([p.detach().clone() for p in model.parameters()])
        val.append(evaluate(model, setup.loaders["val"], loss_fn))

    args = (setup.n_epochs, optimizer, model, loss_fn, setup.loaders["train"])
    history, seconds, log = setup.timed(train, args, after_epoch)
    return _Trained(model, history, seconds, log, per_epoch=states, val=val)


def _train_manual(
    setup: _Setup, sgd: _Trained, manual_trainer: Callable[..., History]
) -> _Trained:
    """``manual_trainer`` from the same seed; after every epoch, the
    `bitwise_diff` of its parameters from the SGD run's."""
    model = setup.fresh_model()
    diffs: list[float] = []

    def after_epoch(epoch: int, model: nn.Module) -> None:
        if epoch > len(sgd.per_epoch):
            diffs.append(math.inf)  # the SGD run stopped earlier
            return
        params = zip(sgd.per_epoch[epoch - 1], model.parameters(), strict=True)
        diffs.extend(bitwise_diff(a, b) for a, b in params)

    h, loss_fn = setup.hyper, nn.CrossEntropyLoss()
    args = (setup.n_epochs, h["lr"], model, loss_fn, setup.loaders["train"])
    args += (h["weight_decay"], h["momentum"])
    history, seconds, log = setup.timed(manual_trainer, args, after_epoch)
    return _Trained(model, history, seconds, log, per_epoch=diffs)


def _result(
    setup: _Setup, sgd: _Trained, manual: _Trained | None, **names: str
) -> PairResult:
    """The pair's `PairResult`; ``names`` are its run, model and source."""
    identical, max_abs_diff = _verdict(sgd, manual)
    return PairResult(
        **names,
        **setup.hyper,
        seed=setup.seed,
        checked=manual is not None,
        sgd=sgd.history,
        manual=manual.history if manual else History(),
        epochs=_epochs_table(names["run"], sgd, manual),
        identical=identical,
        max_abs_diff=max_abs_diff,
        final=_final_metrics(sgd, manual, setup.loaders),
        seconds_sgd=sgd.seconds,
        seconds_manual=manual.seconds if manual else math.nan,
        state_dict={
            k: v.detach().cpu().clone()
            for k, v in sgd.model.state_dict().items()
        },
        log_sgd=sgd.log,
        log_manual=manual.log if manual else "",
    )


def _verdict(sgd: _Trained, manual: _Trained | None) -> tuple[bool, float]:
    """(identical, largest difference): every epoch's parameters, the
    final ones, the losses and the divergence must all agree."""
    if manual is None:
        return False, math.nan  # SGD only: nothing checked
    final = zip(sgd.model.parameters(), manual.model.parameters(), strict=True)
    diffs = manual.per_epoch + [bitwise_diff(a, b) for a, b in final]
    # Equal loss lists also mean both runs lasted the same epochs.
    identical = (
        sgd.history.losses == manual.history.losses
        and sgd.history.diverged == manual.history.diverged
        and all(d == 0.0 for d in diffs)
    )
    return identical, max(diffs, default=0.0)


def _epochs_table(
    run: str, sgd: _Trained, manual: _Trained | None
) -> pd.DataFrame:
    """One row per epoch of the SGD run (epochs.csv)."""
    n = len(sgd.history.losses)
    manual_losses = manual.history.losses if manual else []
    return pd.DataFrame(
        {
            "run": run,
            "epoch": range(1, n + 1),
            "train_loss": sgd.history.losses,
            "train_loss_manual": (manual_losses + [math.nan] * n)[:n],
            "train_acc_running": sgd.history.accuracies,
            "val_loss": [v["loss"] for v in sgd.val],
            "val_acc": [v["accuracy"] for v in sgd.val],
        }
    )


def _final_metrics(
    sgd: _Trained, manual: _Trained | None, loaders: dict[str, DataLoader]
) -> dict[str, float]:
    """Accuracies and loss after training; NaN for a diverged run."""
    if sgd.history.diverged:
        return dict.fromkeys(
            ("train_acc", "val_acc", "val_loss", "dead_relu"), math.nan
        )
    final = {
        "train_acc": evaluate(sgd.model, loaders["train"])["accuracy"],
        "val_acc": sgd.val[-1]["accuracy"],
        "val_loss": sgd.val[-1]["loss"],
        "dead_relu": dead_relu_fraction(sgd.model, loaders["val"]),
    }
    if manual is not None and not manual.history.diverged:
        for split in ("train", "val"):
            final[f"{split}_acc_manual"] = evaluate(
                manual.model, loaders[split]
            )["accuracy"]
    return final
