"""byhand.search.evaluation: test metrics on known predictions."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from byhand.search.evaluation import (
    dead_relu_fraction,
    evaluate,
    evaluate_test,
    wilson_interval,
)
from byhand.training import train

pytestmark = pytest.mark.task10


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
    t = evaluate_test(Fixed(), loader([0, 0, 0, 0], [0, 0, 0, 1]), ["a", "b"])
    assert t["confusion"] == [[3, 0], [1, 0]]


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


class Logits(nn.Module):
    """Returns its input as the logits: known confidences."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.w


def test_mistakes_come_most_confident_first_with_their_own_index():
    # Logits of five test images; truth car, car, car, cat, cat.
    logits = [[2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [2.0, 0.0], [0.0, 0.5]]
    data = DataLoader(
        TensorDataset(torch.tensor(logits), torch.tensor([0, 0, 0, 1, 1])),
        batch_size=2,
    )
    t = evaluate_test(Logits(), data, ["car", "cat"])
    wrong = t["misclassified"]
    # Softmax of two logits: the predicted class's probability is the
    # sigmoid of the gap, computed here independently.
    sig = [1 / (1 + math.exp(-d)) for d in (3.0, 2.0, 1.0)]
    assert [m["index"] for m in wrong] == [2, 3, 1]
    assert [m["confidence"] for m in wrong] == pytest.approx(sig, rel=1e-12)
    assert [(m["true"], m["predicted"]) for m in wrong] == [
        ("car", "cat"),
        ("cat", "car"),
        ("car", "cat"),
    ]
    assert t["accuracy"] == 2 / 5
    assert t["ci95"] == wilson_interval(2, 5)
    lo, hi = t["ci95"]
    # Wilson's interval for 2 of 5 at z = 1.96, from its formula by hand.
    assert (lo, hi) == pytest.approx((0.1176, 0.7693), abs=1e-4)


@pytest.mark.task3
def test_running_training_accuracy_matches_a_separate_evaluation():
    # With lr = 0 the weights never move, so the accuracy counted while
    # the batches go by must equal an evaluation of the same model.
    g = torch.Generator().manual_seed(1)
    X = torch.randn(24, 5, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    data = DataLoader(TensorDataset(X, y), batch_size=5)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    h = train(2, opt, model, nn.CrossEntropyLoss(), data)
    again = evaluate(model, data)
    assert 0 < again["accuracy"] < 1
    assert h.accuracies == [again["accuracy"]] * 2
    # The running loss is the mean of batch means (batches of 5, 5, 5,
    # 5, 4), the evaluation's the mean over samples: close, not equal.
    assert h.losses[0] == pytest.approx(again["loss"], rel=0.05)


def test_a_relu_that_outputs_zero_for_every_sample_is_dead():
    # Unit 0 fires for x > 0, unit 1 never: one of two is dead.  ReLU's
    # output is never negative, so firing means > 0, not >= 0.
    model = nn.Sequential(nn.Linear(1, 2), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        model[0].bias.zero_()
    data = DataLoader(TensorDataset(torch.tensor([[1.0], [2.0]]),
                                    torch.zeros(2).long()))  # fmt: skip
    assert dead_relu_fraction(model, data) == 0.5


@pytest.mark.parametrize("training", [True, False])
def test_evaluation_leaves_the_models_mode_as_it_was(training):
    model = nn.Sequential(nn.Linear(1, 2), nn.Dropout(0.5))
    model.train(training)
    data = loader([0, 1, 1], [0, 1, 0])
    evaluate(model, data)
    dead_relu_fraction(model, data)
    assert model.training is training
