"""Section 3's training loops: with torch.optim.SGD and by hand.

`ManualSGD` writes torch.optim.SGD's update with the same tensor
operations in the same order, so both give bit-identical parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from byhand.watch import History, Watch


def train(
    n_epochs: int,
    optimizer: torch.optim.Optimizer | ManualSGD,
    model: nn.Module,
    loss_fn: nn.Module,
    train_loader: DataLoader,
    **options: Any,
) -> History:
    """Train ``model`` for ``n_epochs`` (tasks 3 and 5); ``options``
    (``progress``, ``log``, ``on_epoch``) go to the `Watch` that records
    the run and stops it if it diverges."""
    if len(train_loader) == 0:
        raise ValueError("train_loader yields no batches: the split is empty")
    watch = Watch(n_epochs, desc=type(optimizer).__name__, **options)
    device, dtype = model_device(model), model_dtype(model)
    model.train()
    for epoch in watch.epochs():
        loss_train = 0.0
        for imgs, labels in train_loader:
            imgs, labels = to_model(imgs, labels, device, dtype)
            outputs = model(imgs)
            loss = loss_fn(outputs, labels)
            if watch.batch_diverged(epoch, loss, outputs, labels):
                return watch.history
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss_train += loss.item()
        mean_loss = loss_train / len(train_loader)
        if watch.epoch_diverged(epoch, model, mean_loss):
            return watch.history
    return watch.history


@dataclass(eq=False, repr=False)  # no wall of tensors when printed
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

    params: Iterable[nn.Parameter]
    lr: float
    weight_decay: float = 0.0
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        for name in ("lr", "weight_decay", "momentum", "dampening"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0: {value}")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0"
            )
        self.params = [p for p in self.params if p.requires_grad]
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
    train_loader: DataLoader,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    **options: Any,
) -> History:
    """`train` with `ManualSGD` (tasks 4-7): identical to torch.optim.SGD
    with the same hyperparameters; ``options`` go to `train`."""
    update = ManualSGD(
        model.parameters(), lr, weight_decay, momentum, dampening, nesterov
    )
    return train(n_epochs, update, model, loss_fn, train_loader, **options)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (CPU for a parameterless one)."""
    first = next(model.parameters(), None)
    return torch.device("cpu") if first is None else first.device


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's parameters (else the default)."""
    floats = (p.dtype for p in model.parameters() if p.is_floating_point())
    return next(floats, torch.get_default_dtype())


def to_model(
    imgs: torch.Tensor,
    labels: torch.Tensor,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch on the model's device and in its dtype (section 3.3)."""
    return imgs.to(device=device, dtype=dtype), labels.to(device=device)
