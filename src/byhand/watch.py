"""What `byhand.training.train` reports to, kept out of its loop."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import TextIO

import torch
from torch import nn
from tqdm.auto import tqdm

from byhand.search.logformat import logged_epochs, loss_line

# A run has diverged when an epoch's mean loss exceeds this many times the
# loss of its very first batch (at the initial parameters): training
# lowers the loss, so a hundredfold rise means the steps are too large.
EXPLODE_FACTOR = 100.0


@dataclass
class History:
    """What a training run returns: per epoch, the mean loss over the
    batches (what the course prints) and the share of samples right as the
    batches went by (NaN when the targets are not class labels)."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""


class DivergenceWarning(UserWarning):
    """Training stopped: the loss became NaN or infinite, or exploded."""


@dataclass
class Watch:
    """Records the `History`, writes the course's log lines to ``log``,
    calls ``on_epoch(epoch, model, loss)``, shows a tqdm bar (``progress``,
    default: on a terminal) and stops a run whose loss diverges."""

    n_epochs: int
    _: KW_ONLY
    desc: str = ""
    progress: bool | None = None
    log: TextIO | None = None
    on_epoch: Callable[[int, nn.Module, float], None] | None = None
    history: History = field(default_factory=History)
    first_loss: float | None = None
    n_batches: int = 0  # this epoch's, and the samples seen and right
    n_seen: int = 0
    n_right: int = 0

    def epochs(self) -> Iterable[int]:
        show = sys.stderr.isatty() if self.progress is None else self.progress
        epochs = range(1, self.n_epochs + 1)
        return tqdm(
            epochs, desc=self.desc, unit="epoch", disable=not show, leave=False
        )

    def batch_diverged(
        self,
        epoch: int,
        loss: torch.Tensor,
        outputs: torch.Tensor,
        labels: torch.Tensor,
    ) -> bool:
        """Count the batch; True (stop) if its loss is not finite."""
        value = loss.item()
        if self.first_loss is None:
            self.first_loss = value
        if not math.isfinite(value):
            return self._stop(
                f"training diverged at epoch {epoch}, batch "
                f"{self.n_batches + 1}: the loss is {value}"
            )
        self.n_batches += 1
        if outputs.dim() == 2 and labels.dim() == 1:  # class labels
            self.n_seen += len(labels)
            self.n_right += (outputs.argmax(dim=1) == labels).sum().item()
        return False

    def epoch_diverged(
        self, epoch: int, model: nn.Module, loss: float
    ) -> bool:
        """Record the epoch; True (stop) if the loss exploded."""
        self.history.losses.append(loss)
        right = self.n_right / self.n_seen if self.n_seen else math.nan
        self.history.accuracies.append(right)
        if self.log is not None and epoch in logged_epochs(self.n_epochs):
            print(loss_line(datetime.now(), epoch, loss), file=self.log)
        if self.on_epoch is not None:
            self.on_epoch(epoch, model, loss)
        self.n_batches = self.n_seen = self.n_right = 0
        if loss > EXPLODE_FACTOR * abs(self.first_loss):
            return self._stop(
                f"training diverged at epoch {epoch}: the mean loss "
                f"{loss:.3g} is over {EXPLODE_FACTOR:g} times the first "
                f"batch's {self.first_loss:.3g}"
            )
        return False

    def _stop(self, why: str) -> bool:
        self.history.diverged = True
        self.history.message = (
            f"{why}; the learning rate is probably too large. "
            "This run was stopped."
        )
        warnings.warn(self.history.message, DivergenceWarning, stacklevel=4)
        return True
