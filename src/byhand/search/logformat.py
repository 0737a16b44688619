"""The course's training log format (`gradient_descent_output.txt`):
a writer for each block and a parser for tests to read a log back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

SGD_HEADER = " --------- Using Pytorch's SGD ---------"
MANUAL_HEADER = " --------- Using manual update ----------"
SEPARATOR = "=" * 48

_LOSS = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{6})  \|  Epoch (\d+)  \|  Training loss "
    r"([-+0-9.eE]+|nan|inf)$"
)


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


def _parameters(title: str, **values: object) -> str:
    """The course's block: ``   <title>:`` then ``name =  value`` lines."""
    return "\n".join(
        [f"   {title}:", *(f"{k} =  {v}" for k, v in values.items())]
    )


def global_header(
    device: str, batch_size: int, n_epochs: int, loss_fn: str, seed: int
) -> str:
    block = _parameters(
        "Global parameters",
        batch_size=batch_size,
        n_epoch=n_epochs,
        loss_fn=loss_fn,
        seed=seed,
    )
    return f"Training on device {device}.\n\n{block}"


def config_header(lr: float, momentum: float, weight_decay: float) -> str:
    block = _parameters(
        "Current parameters",
        lr=f"{lr:g}",
        mom=f"{momentum:g}",
        decay=f"{weight_decay:g}",
    )
    return f"{SEPARATOR}\n{block}"


def accuracies_block(train_acc: float, val_acc: float) -> str:
    return (
        " --- Accuracies ---\nTraining\n"
        f"Accuracy: {train_acc:.2f}\nValidation\n"
        f"Accuracy: {val_acc:.2f}"
    )


def parse_log(text: str) -> list[dict[str, Any]]:
    """Read a log back: one dict per configuration.

    Each has ``lr``, ``mom``, ``decay`` and, per block (``"sgd"``,
    ``"manual"``), ``{"losses": {epoch: loss}, "train_acc", "val_acc"}``.
    """
    configs: list[dict[str, Any]] = []
    block: dict[str, Any] | None = None
    pending: str | None = None
    for line in text.splitlines():
        if line == SEPARATOR:
            configs.append({})
            block = None
        elif configs and (m := re.match(r"^(lr|mom|decay) =  (.+)$", line)):
            configs[-1][m.group(1)] = float(m.group(2))
        elif line in (SGD_HEADER, MANUAL_HEADER):
            if not configs:
                raise ValueError("log block found before any configuration")
            block = {"losses": {}}
            configs[-1]["sgd" if line == SGD_HEADER else "manual"] = block
        elif block is not None and (m := _LOSS.match(line)):
            block["losses"][int(m.group(2))] = float(m.group(3))
        elif line in ("Training", "Validation"):
            pending = line
        elif block is not None and line.startswith("Accuracy: "):
            key = "train_acc" if pending == "Training" else "val_acc"
            block[key] = float(line.removeprefix("Accuracy: "))
    return configs


def course_log(
    pairs: Sequence[Any],
    *,
    device: str,
    batch_size: int,
    n_epochs: int,
    seed: int,
    loss_fn: str = "CrossEntropyLoss()",
) -> str:
    """The whole file for trained pairs (`byhand.search.pair.PairResult`)."""
    parts = [global_header(device, batch_size, n_epochs, loss_fn, seed)]
    for p in pairs:
        parts.append(config_header(p.lr, p.momentum, p.weight_decay))
        for header, text, hist, suffix in (
            (SGD_HEADER, p.log_sgd, p.sgd, ""),
            (MANUAL_HEADER, p.log_manual, p.manual, "_manual"),
        ):
            parts.append(header)
            if text:
                parts.append(text.rstrip("\n"))
            if hist.diverged:
                parts.append(hist.message)
            else:
                acc = [p.final[f"{s}_acc{suffix}"] for s in ("train", "val")]
                parts.append(accuracies_block(*acc))
    return "\n".join(parts) + "\n"
