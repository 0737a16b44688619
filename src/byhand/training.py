"""Section 3's training loops: with torch.optim.SGD and by hand.

`train` and `train_manual_update` run the same loop; the second replaces
``optimizer.step()`` by equation (3) with torch.optim.SGD's weight decay,
momentum, dampening and Nesterov rules, written with the same tensor
operations in the same order, so both give bit-identical parameters.

Long because (about 330 lines) the two trainers, the loop they share and
the manual update are read together: the bitwise claim rests on all four.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

import torch
from torch import nn
from tqdm.auto import tqdm

from byhand.search.logformat import logged_epochs, loss_line

EpochCallback = Callable[[int, nn.Module, float], None]


class DivergenceWarning(UserWarning):
    """Training stopped: the loss became NaN or infinite, or exploded."""


# A run has diverged when an epoch's mean loss exceeds this many times the
# loss of its very first batch (at the initial parameters): training
# lowers the loss, so a hundredfold rise means the steps are too large.
EXPLODE_FACTOR = 100.0


@dataclass
class History:
    """What a training run returns, per epoch.

    ``losses`` is the mean training loss over the epoch's batches (what the
    course prints); ``accuracies`` the share of training samples classified
    right as the batches went by (free: the logits are already computed).
    """

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    diverged: bool = False
    diverged_at: tuple[int, int] | None = None  # (epoch, batch), 1-based
    message: str = ""


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (CPU for a parameterless one)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's parameters (else the default)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def to_model(
    imgs: torch.Tensor,
    labels: torch.Tensor,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move a batch to the model's device and dtype (section 3.3).

    ``device`` and ``dtype`` are `model_device` and `model_dtype`, looked
    up once per loop rather than once per batch.
    """
    return imgs.to(device=device, dtype=dtype), labels.to(device=device)


def _progress(
    progress: bool | None, n_epochs: int, desc: str
) -> Iterable[int]:
    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(
        range(1, n_epochs + 1),
        desc=desc,
        unit="epoch",
        disable=not progress,
        leave=False,
    )


def _stop(history: History, message: str) -> History:
    history.diverged = True
    history.message = message
    warnings.warn(message, DivergenceWarning, stacklevel=4)
    return history


def _run(
    n_epochs: int,
    model: nn.Module,
    loss_fn: nn.Module,
    train_loader: Iterable,
    *,
    step: Callable[[], None],
    zero_grad: Callable[[], None],
    progress: bool | None,
    log: TextIO | None,
    on_epoch: EpochCallback | None,
    desc: str,
) -> History:
    """The loop both trainers share; ``step`` is the only difference.

    Stops early, marking the run diverged, when a batch's loss is not
    finite or an epoch's mean loss passes ``EXPLODE_FACTOR`` times the
    first batch's loss.
    """
    history = History()
    first_loss: float | None = None
    log_epochs = set(logged_epochs(n_epochs))
    device, dtype = model_device(model), model_dtype(model)
    model.train()
    for epoch in _progress(progress, n_epochs, desc):
        loss_train = 0.0
        n_batches = n_seen = n_right = 0
        for imgs, labels in train_loader:
            imgs, labels = to_model(imgs, labels, device, dtype)
            outputs = model(imgs)
            loss = loss_fn(outputs, labels)
            value = loss.item()
            if first_loss is None:
                first_loss = value
            if not math.isfinite(value):
                history.diverged_at = (epoch, n_batches + 1)
                zero_grad()
                return _stop(
                    history,
                    f"training diverged at epoch {epoch}, batch "
                    f"{n_batches + 1}: the loss is {value}; the learning "
                    "rate is probably too large. This run was stopped.",
                )
            loss.backward()
            step()
            zero_grad()
            loss_train += value
            n_batches += 1
            n_seen += len(labels)
            if outputs.dim() == 2 and labels.dim() == 1:
                n_right += (outputs.argmax(dim=1) == labels).sum().item()
        if n_batches == 0:
            raise ValueError("train_loader yielded no batches")
        history.losses.append(loss_train / n_batches)
        # NaN when the targets are not class labels (e.g. regression).
        is_cls = labels.dim() == 1
        history.accuracies.append(n_right / n_seen if is_cls else math.nan)
        if log is not None and epoch in log_epochs:
            print(
                loss_line(datetime.now(), epoch, history.losses[-1]), file=log
            )
        if on_epoch is not None:
            on_epoch(epoch, model, history.losses[-1])
        assert first_loss is not None
        if history.losses[-1] > EXPLODE_FACTOR * abs(first_loss):
            history.diverged_at = (epoch, n_batches)
            return _stop(
                history,
                f"training diverged at epoch {epoch}: the mean loss "
                f"{history.losses[-1]:.3g} is over {EXPLODE_FACTOR:g} times "
                f"the first batch's {first_loss:.3g}; the learning rate is "
                "probably too large. This run was stopped.",
            )
    return history


def train(
    n_epochs: int,
    optimizer: torch.optim.Optimizer,
    model: nn.Module,
    loss_fn: nn.Module,
    train_loader: Iterable,
    *,
    progress: bool | None = None,
    log: TextIO | None = None,
    on_epoch: EpochCallback | None = None,
) -> History:
    """Train ``model`` for ``n_epochs`` with ``optimizer`` (tasks 3 and 5).

    ``progress`` shows a tqdm bar (default: only on a terminal); ``log``
    receives the course's ``HH:MM:SS.ffffff  |  Epoch N  |  Training loss``
    lines; ``on_epoch(epoch, model, loss)`` runs after each epoch.
    """
    return _run(
        n_epochs,
        model,
        loss_fn,
        train_loader,
        step=optimizer.step,
        zero_grad=optimizer.zero_grad,
        progress=progress,
        log=log,
        on_epoch=on_epoch,
        desc="SGD",
    )


class ManualSGD:
    """Equation (3) with torch.optim.SGD's rules, state kept per parameter.

    With g_t = dL/dtheta, lambda the weight decay, mu the momentum, tau the
    dampening and alpha the learning rate (torch.optim.SGD's documentation):

        g_t <- g_t + lambda theta_{t-1}                  (L2 regularization)
        b_t <- g_t                       if t = 1        (momentum buffer)
        b_t <- mu b_{t-1} + (1 - tau) g_t   otherwise
        g_t <- g_t + mu b_t  if Nesterov, else g_t <- b_t
        theta_t <- theta_{t-1} - alpha g_t                        (eq. (3))

    Each line uses the same tensor operation as torch.optim.SGD, because
    ``a + alpha * b`` computed as one fused ``add(alpha=)`` rounds
    differently from a separate multiply and add.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        values = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "dampening": dampening,
        }
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} must be finite numbers, got "
                + ", ".join(f"{k}={values[k]}" for k in bad)
            )
        if lr < 0 or weight_decay < 0 or momentum < 0:
            raise ValueError(
                f"lr, weight_decay and momentum must be >= 0, got lr={lr}, "
                f"weight_decay={weight_decay}, momentum={momentum}"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0"
            )
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def step(self) -> None:
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = p.grad
                if self.weight_decay != 0:
                    # L2: g <- g + lambda * theta (a new tensor, not p.grad).
                    g = g.add(p.data, alpha=self.weight_decay)
                if self.momentum != 0:
                    buf = self.buffers[i]
                    if buf is None:
                        # First step: b_1 = g_1, a *copy*; aliasing p.grad
                        # would let zero_grad() wipe the buffer.
                        buf = torch.clone(g).detach()
                        self.buffers[i] = buf
                    else:
                        # b_t = mu b_{t-1} + (1 - tau) g_t
                        buf.mul_(self.momentum).add_(
                            g, alpha=1 - self.dampening
                        )
                    if self.nesterov:
                        g = g.add(buf, alpha=self.momentum)
                    else:
                        g = buf
                # Eq. (3): theta_t = theta_{t-1} - alpha g_t
                p.data.add_(g, alpha=-self.lr)

    def zero_grad(self) -> None:
        # Zero in place ("zero out all gradients", task 4).
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()


def train_manual_update(
    n_epochs: int,
    lr: float,
    model: nn.Module,
    loss_fn: nn.Module,
    train_loader: Iterable,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    *,
    dampening: float = 0.0,
    nesterov: bool = False,
    progress: bool | None = None,
    log: TextIO | None = None,
    on_epoch: EpochCallback | None = None,
) -> History:
    """`train` without an optimizer: parameters updated by hand (tasks 4-7).

    ``weight_decay``, ``momentum``, ``dampening`` and ``nesterov`` mean what
    they mean in torch.optim.SGD; with equal values the result is identical.
    """
    sgd = ManualSGD(
        model.parameters(), lr, weight_decay, momentum, dampening, nesterov
    )
    return _run(
        n_epochs,
        model,
        loss_fn,
        train_loader,
        step=sgd.step,
        zero_grad=sgd.zero_grad,
        progress=progress,
        log=log,
        on_epoch=on_epoch,
        desc="manual",
    )
