"""Task 10: the selected model on the test set, with its uncertainty."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from byhand.training import predict


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion k / n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return (centre - half, centre + half)


def confusion_matrix(
    y: torch.Tensor, y_hat: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """``cm[i, j]``: samples of true class i predicted as class j."""
    cm = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    cm.index_put_((y, y_hat), torch.ones_like(y), accumulate=True)
    return cm


def evaluate_test(
    model: nn.Module, test_loader: DataLoader, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy with its 95 % CI, confusion matrix, precision and recall.

    Also the test images the model got wrong, most confident first.
    """
    logits, y = predict(model, test_loader)
    prob = torch.softmax(logits, dim=1)
    y_hat = prob.argmax(dim=1)
    cm = confusion_matrix(y, y_hat, len(classes))
    n_right = int((y_hat == y).sum())
    per_class = []
    for c, name in enumerate(classes):
        tp = int(cm[c, c])
        predicted = int(cm[:, c].sum())  # column: predicted as c
        actual = int(cm[c, :].sum())  # row: truly c
        per_class.append(
            {
                "class": name,
                "precision": tp / predicted if predicted else math.nan,
                "recall": tp / actual if actual else math.nan,
                "support": actual,
            }
        )
    wrong = torch.nonzero(y_hat != y).flatten()
    conf = prob[wrong, y_hat[wrong]]
    order = torch.argsort(conf, descending=True)
    return {
        "n": len(y),
        "accuracy": n_right / len(y),
        "ci95": wilson_interval(n_right, len(y)),
        "confusion": cm.tolist(),
        "per_class": per_class,
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
