"""byhand.report.findings: sentences follow the numbers, whatever they are."""

import math

import pandas as pd
import torch

from byhand.report import findings
from byhand.search.results import SearchResult


def result(val_loss, train_loss=None, runs=None, test=None):
    n = len(val_loss)
    train_loss = train_loss or [1.0 - 0.02 * i for i in range(n)]
    epochs = pd.DataFrame(
        {
            "run": "a",
            "epoch": range(1, n + 1),
            "train_loss": train_loss,
            "val_loss": val_loss,
        }
    )
    runs = runs if runs is not None else pd.DataFrame(
        {
            "run": ["a"], "model": ["MyMLP"], "diverged": [False],
            "val_acc": [0.9], "dead_relu": [0.0], "lr": [0.01],
            "stage": ["grid"],
            "momentum": [0.9], "weight_decay": [0.0], "epochs_run": [n],
            "seconds_sgd": [1.0], "seconds_manual": [1.0],
        }
    )  # fmt: skip
    return SearchResult(
        config=None,
        runs=runs,
        epochs=epochs,
        selected="a",
        test=test or {},
        log="",
        folder=None,
        meta={"classes": ["car", "cat"], "device": "cpu"},
    )


def test_learning_curve_reads_the_curves():
    rising = result([0.5, 0.4, 0.3, 0.25, 0.24, 0.26, 0.3, 0.35, 0.4])
    assert "overfit" in findings.learning_curve(rising)
    assert "epoch 5" in findings.learning_curve(rising)
    flat = result([0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    assert "flat" in findings.learning_curve(flat)
    falling = result([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    assert "still fall" in findings.learning_curve(falling)


def test_failures_are_measured():
    ok = result([0.5, 0.4, 0.3])
    assert findings.failures(ok) is None
    runs = pd.DataFrame(
        {
            "run": ["a", "b", "c"], "model": ["MyMLP"] * 3,
            "diverged": [False, False, True], "val_acc": [0.9, 0.5, math.nan],
            "dead_relu": [0.05, 0.75, math.nan], "lr": [0.01, 1.0, 1.0],
            "momentum": [0.9, 0.0, 0.9], "weight_decay": [0.0] * 3,
            "stage": ["grid"] * 3,
        }
    )  # fmt: skip
    text = findings.failures(result([0.5, 0.4, 0.3], runs=runs))
    assert "1 configuration diverged" in text
    assert "75.0 % of their hidden ReLU" in text and "5.0 %" in text


def test_mistake_colours_compare_wrong_with_right():
    images = torch.zeros(4, 3, 2, 2, dtype=torch.uint8)
    images[0, 0] = 255  # a red car, misclassified
    images[1, 2] = 255  # a blue car, recognised
    labels = torch.tensor([0, 0, 1, 1])
    test = {"misclassified": [{"index": 0}]}
    text = findings.mistake_colours(
        result([0.5, 0.4, 0.3], test=test), images, labels
    )
    assert "1 car taken for cats is warmer" in text
    assert "+1.000 against -1.000" in text


def test_speed_reports_the_measured_ratio():
    text = findings.speed(result([0.5, 0.4, 0.3]))
    assert "same speed" in text and "ratio 1.00" in text
    slow = result([0.5, 0.4, 0.3])
    slow.runs["seconds_manual"] = 2.0
    assert "100.0 % slower" in findings.speed(slow)


def test_seed_noise_compares_spread_and_gap():
    runs = pd.DataFrame(
        {
            "run": list("abcdef"), "model": ["MyMLP"] * 6,
            "config": ["x", "x", "y", "y", "x", "x"],
            "protocol": ["plain"] * 4 + ["flip"] * 2,
            "val_acc": [0.90, 0.92, 0.905, 0.915, 0.93, 0.95],
            "val_loss": [0.3] * 6, "diverged": [False] * 6,
        }
    )  # fmt: skip
    text = findings.seed_noise(result([0.5, 0.4, 0.3], runs=runs))
    assert "x, flip: 0.940" in text
    assert "+3.00 points" in text  # flip minus plain for config x
    runs["val_acc"] = [0.90, 0.90, 0.80, 0.80, 0.90, 0.90]
    tied = findings.seed_noise(result([0.5, 0.4, 0.3], runs=runs))
    assert "not clearly better" in tied


def test_protocol_choice_names_the_winner():
    r = result([0.5, 0.4, 0.3])
    r.runs["protocol"] = ["plain"]
    r.runs["selected"] = [True]
    assert "comes from the plain protocol" in findings.protocol_choice(r)
    r.runs["protocol"] = ["flip"]
    assert "comes from the flip protocol" in findings.protocol_choice(r)
