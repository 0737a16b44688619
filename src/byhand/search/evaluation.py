"""Evaluating a trained model: accuracy and loss on a split, and task
10's test metrics with their uncertainty."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from byhand.training import model_device, model_dtype, to_model


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, ...]:
    """Logits and labels of every sample of ``loader``, on the CPU."""
    was_training = model.training
    model.eval()
    logits, targets = [], []
    device, dtype = model_device(model), model_dtype(model)
    for imgs, labels in loader:
        imgs, labels = to_model(imgs, labels, device, dtype)
        logits.append(model(imgs).cpu())
        targets.append(labels.cpu())
    model.train(was_training)
    if not logits:
        raise ValueError(
            "the loader yielded no samples: the split is empty; use more "
            "data or a larger validation fraction"
        )
    return torch.cat(logits), torch.cat(targets)


def evaluate(model: nn.Module, loader: Iterable) -> dict[str, float]:
    """Accuracy and mean cross-entropy loss."""
    logits, y = predict(model, loader)
    with torch.no_grad():
        loss = nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).double().mean().item()
    return {"accuracy": acc, "loss": loss}


@torch.no_grad()
def dead_relu_fraction(model: nn.Module, loader: Iterable) -> float:
    """Share of ReLU units that output 0 for every sample of ``loader``
    (dead: no gradient, never recovering); NaN without ReLUs."""
    alive: dict[nn.Module, torch.Tensor] = {}  # per ReLU: units that fired

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        fired = (output > 0).flatten(1).any(dim=0)
        alive[module] = alive.get(module, fired) | fired

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    handles = [m.register_forward_hook(hook) for m in relus]
    try:
        predict(model, loader)
    finally:
        for h in handles:
            h.remove()
    if not alive:
        return math.nan
    return (~torch.cat(list(alive.values()))).double().mean().item()


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
    """Accuracy with its 95 % CI, confusion matrix, precision, recall and
    the test images the model got wrong, most confident first."""
    logits, y = predict(model, test_loader)
    prob = torch.softmax(logits, dim=1)
    y_hat = prob.argmax(dim=1)
    cm = torch.zeros(len(classes), len(classes), dtype=torch.int64)
    cm.index_put_((y, y_hat), torch.ones_like(y), accumulate=True)
    tp = cm.diag().double()  # cm[i, j]: truly class i, predicted as j
    precision = tp / cm.sum(dim=0)  # 0 / 0: NaN
    recall = tp / cm.sum(dim=1)
    n_right = int((y_hat == y).sum())
    wrong = torch.nonzero(y_hat != y).flatten()
    conf = prob[wrong, y_hat[wrong]]
    order = torch.argsort(conf, descending=True)
    return {
        "n": len(y),
        "accuracy": n_right / len(y),
        "ci95": wilson_interval(n_right, len(y)),
        "confusion": cm.tolist(),
        "per_class": [
            {
                "class": name,
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "support": int(cm[c].sum()),
            }
            for c, name in enumerate(classes)
        ],
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
