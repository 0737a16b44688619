"""The course's training log format (`gradient_descent_output.txt`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

SGD_HEADER = " --------- Using Pytorch's SGD ---------"
MANUAL_HEADER = " --------- Using manual update ----------"
SEPARATOR = "=" * 48


def loss_line(when: datetime, epoch: int, loss: float) -> str:
    """``HH:MM:SS.ffffff  |  Epoch N  |  Training loss 0.xxxxx``."""
    return (
        f"{when.strftime('%H:%M:%S.%f')}  |  Epoch {epoch}  |  "
        f"Training loss {loss:.5f}"
    )


def logged_epochs(n_epochs: int) -> list[int]:
    """The epochs the course prints: 1, 5, 10, ..., n_epochs."""
    epochs = range(1, n_epochs + 1)
    return [e for e in epochs if e == 1 or e % 5 == 0 or e == n_epochs]


def course_log(
    pairs: Sequence[Any],
    *,
    device: str,
    batch_size: int,
    n_epochs: int,
    seed: int,
) -> str:
    """The whole file for trained pairs (`byhand.search.pair.PairResult`):
    the global parameters, then per pair its parameters and both blocks."""
    lines = [
        f"Training on device {device}.",
        "",
        "   Global parameters:",
        f"batch_size =  {batch_size}",
        f"n_epoch =  {n_epochs}",
        "loss_fn =  CrossEntropyLoss()",
        f"seed =  {seed}",
    ]
    for p in pairs:
        lines += [
            SEPARATOR,
            "   Current parameters:",
            f"lr =  {p.lr:g}",
            f"mom =  {p.momentum:g}",
            f"decay =  {p.weight_decay:g}",
        ]
        for header, text, hist, suffix in (
            (SGD_HEADER, p.log_sgd, p.sgd, ""),
            (MANUAL_HEADER, p.log_manual, p.manual, "_manual"),
        ):
            lines.append(header)
            if text:
                lines.append(text.rstrip("\n"))
            if hist.diverged:
                lines.append(hist.message)
            else:
                train_acc = p.final[f"train_acc{suffix}"]
                val_acc = p.final[f"val_acc{suffix}"]
                lines += [
                    " --- Accuracies ---",
                    "Training",
                    f"Accuracy: {train_acc:.2f}",
                    "Validation",
                    f"Accuracy: {val_acc:.2f}",
                ]
    return "\n".join(lines) + "\n"
