"""What `byhand.training.train` reports to, kept out of its loop."""

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


@dataclass
class History:
    """What a training run returns: per epoch, the mean loss over the
    batches (what the course prints) and the share of samples right as the
    batches went by."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    diverged: bool = False
    diverged_at: tuple[int, int] | None = None  # (epoch, batch), 1-based
    message: str = ""


class DivergenceWarning(UserWarning):
    """Training stopped: the loss became NaN or infinite, or exploded."""


# A run has diverged when an epoch's mean loss exceeds this many times the
# loss of its very first batch (at the initial parameters): training
# lowers the loss, so a hundredfold rise means the steps are too large.
EXPLODE_FACTOR = 100.0


class Watch:
    """Records the `History`, writes the course's log lines to ``log``,
    calls ``on_epoch(epoch, model, loss)``, shows a tqdm bar (``progress``,
    default: on a terminal) and stops a run whose loss diverges."""

    def __init__(
        self,
        n_epochs: int,
        *,
        desc: str = "",
        progress: bool | None = None,
        log: TextIO | None = None,
        on_epoch: Callable[[int, nn.Module, float], None] | None = None,
    ) -> None:
        self.n_epochs, self.desc = n_epochs, desc
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.log, self.on_epoch = log, on_epoch
        self.log_epochs = set(logged_epochs(n_epochs))
        self.history = History()
        self.first_loss: float | None = None
        self.n_batches = self.n_seen = self.n_right = 0
        self.classifying = False  # the labels are class indices

    def epochs(self) -> Iterable[int]:
        return tqdm(
            range(1, self.n_epochs + 1),
            desc=self.desc,
            unit="epoch",
            disable=not self.progress,
            leave=False,
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
                (epoch, self.n_batches + 1),
                f"training diverged at epoch {epoch}, batch "
                f"{self.n_batches + 1}: the loss is {value}; the learning "
                "rate is probably too large. This run was stopped.",
            )
        self.n_batches += 1
        self.n_seen += len(labels)
        self.classifying = labels.dim() == 1
        if outputs.dim() == 2 and self.classifying:
            self.n_right += (outputs.argmax(dim=1) == labels).sum().item()
        return False

    def epoch_diverged(
        self, epoch: int, model: nn.Module, loss: float
    ) -> bool:
        """Record the epoch; True (stop) if the loss exploded."""
        self.history.losses.append(loss)
        # NaN when the targets are not class labels (e.g. regression).
        accuracy = self.n_right / self.n_seen if self.classifying else math.nan
        self.history.accuracies.append(accuracy)
        if self.log is not None and epoch in self.log_epochs:
            print(loss_line(datetime.now(), epoch, loss), file=self.log)
        if self.on_epoch is not None:
            self.on_epoch(epoch, model, loss)
        n_batches, self.n_batches = self.n_batches, 0
        self.n_seen = self.n_right = 0
        assert self.first_loss is not None
        if loss > EXPLODE_FACTOR * abs(self.first_loss):
            return self._stop(
                (epoch, n_batches),
                f"training diverged at epoch {epoch}: the mean loss "
                f"{loss:.3g} is over {EXPLODE_FACTOR:g} times the first "
                f"batch's {self.first_loss:.3g}; the learning rate is "
                "probably too large. This run was stopped.",
            )
        return False

    def _stop(self, at: tuple[int, int], message: str) -> bool:
        self.history.diverged = True
        self.history.diverged_at = at
        self.history.message = message
        warnings.warn(message, DivergenceWarning, stacklevel=4)
        return True
