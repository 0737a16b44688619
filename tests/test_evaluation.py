"""byhand.search.evaluation: test metrics on known predictions."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from byhand.search.evaluation import (
    confusion_matrix,
    evaluate_test,
    wilson_interval,
)


class Fixed(nn.Module):
    """Predicts the class stored in the input's first feature."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = x[:, 0].long()
        logits = torch.full((len(x), 2), -2.0)
        logits[torch.arange(len(x)), cls] = 2.0 * self.scale
        return logits


def loader(predicted, truth):
    X = torch.tensor(predicted, dtype=torch.float64)[:, None]
    return DataLoader(TensorDataset(X, torch.tensor(truth)), batch_size=3)


def test_confusion_rows_are_true_classes():
    y = torch.tensor([0, 0, 0, 1])
    y_hat = torch.tensor([0, 0, 0, 0])
    assert confusion_matrix(y, y_hat, 2).tolist() == [[3, 0], [1, 0]]


def test_precision_and_recall_on_known_predictions():
    # 4 cars: 3 right, 1 called cat; 2 cats: both called car.
    t = evaluate_test(
        Fixed(), loader([0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 1]), ["car", "cat"]
    )
    assert t["confusion"] == [[3, 1], [2, 0]]
    car, cat = t["per_class"]
    assert car["precision"] == 3 / 5 and car["recall"] == 3 / 4
    assert cat["precision"] == 0.0 and cat["recall"] == 0.0
    assert (car["support"], cat["support"]) == (4, 2)
    assert t["accuracy"] == 3 / 6 and t["n"] == 6
    assert [m["index"] for m in t["misclassified"]] == [3, 4, 5]
    assert {(m["true"], m["predicted"]) for m in t["misclassified"]} == {
        ("car", "cat"),
        ("cat", "car"),
    }


def test_no_prediction_of_a_class_gives_nan_precision():
    t = evaluate_test(Fixed(), loader([0, 0], [0, 1]), ["car", "cat"])
    assert math.isnan(t["per_class"][1]["precision"])


def test_wilson_interval():
    lo, hi = wilson_interval(90, 100)
    assert lo == pytest.approx(0.8256, abs=1e-4)
    assert hi == pytest.approx(0.9448, abs=1e-4)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
