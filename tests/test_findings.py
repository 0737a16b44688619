"""byhand.report.findings: numbers and verdicts measured on hand-built
results with a known answer; each verdict flips when the numbers do."""

import math

import pandas as pd
import pytest
import torch

from byhand.report import findings
from byhand.search.results import SearchResult


def result(val_loss=(0.5, 0.4, 0.3), train_loss=None, runs=None, test=None):
    """A search's results with one run "a" and the given curves."""
    n = len(val_loss)
    epochs = pd.DataFrame(
        {
            "run": "a",
            "epoch": range(1, n + 1),
            "train_loss": train_loss or [1.0 - 0.1 * i for i in range(n)],
            "val_loss": val_loss,
        }
    )
    runs = runs if runs is not None else grid_runs(val_acc=[0.9])
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


def grid_runs(**columns) -> pd.DataFrame:
    """Grid-stage MyMLP runs "a", "b", ...; columns override defaults."""
    n = len(next(iter(columns.values())))
    runs = pd.DataFrame(
        {
            "run": [chr(ord("a") + i) for i in range(n)],
            "model": "MyMLP", "stage": "grid", "source": "grid",
            "diverged": False, "val_acc": 0.9, "dead_relu": 0.0,
            "lr": 0.01, "momentum": 0.0, "weight_decay": 0.0,
            "epochs_run": 3, "seconds_sgd": 3.0, "seconds_manual": 3.0,
            "final_train_loss": 0.5,
        },
        index=range(n),
    )  # fmt: skip
    for name, values in columns.items():
        runs[name] = values
    return runs


# learning_curve -------------------------------------------------------


def test_learning_curve_overfits_when_the_validation_loss_turns_up():
    curve = findings.learning_curve(
        result([0.5, 0.4, 0.3, 0.25, 0.24, 0.26, 0.3, 0.35, 0.4])
    )
    assert curve.trend == "overfits"
    assert (curve.epochs, curve.window) == (9, 3)  # the last third
    assert (curve.best_epoch, curve.best_val_loss) == (5, 0.24)
    assert (curve.val_from, curve.val_to) == (0.26, 0.4)
    assert curve.train_from == pytest.approx(0.5)  # 1 - 0.1 * 5
    assert curve.train_to == pytest.approx(0.2)


def test_learning_curve_flat_falling_and_too_short():
    flat = result([0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    assert findings.learning_curve(flat).trend == "flat"
    # a rise within FLAT of the minimum is still flat, not overfitting
    nearly = result([0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.305])
    assert findings.learning_curve(nearly).trend == "flat"
    falling = result([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    curve = findings.learning_curve(falling)
    assert curve.trend == "falling" and curve.best_epoch == 9
    short = findings.learning_curve(result([0.5, 0.4]))
    assert (short.trend, short.window, short.val_from) == ("too short", 1, 0.5)


def test_learning_curve_reads_the_run_asked_for():
    r = result([0.9, 0.8, 0.7, 0.6])
    other = r.epochs.assign(run="b", val_loss=[0.2, 0.1, 0.3, 0.4])
    r.epochs = pd.concat([r.epochs, other])
    assert findings.learning_curve(r).trend == "falling"
    curve = findings.learning_curve(r, "b")
    assert (curve.run, curve.trend, curve.best_epoch) == ("b", "overfits", 2)
    with pytest.raises(ValueError, match="run 'zz' has no epochs"):
        findings.learning_curve(r, "zz")


# failures -------------------------------------------------------------


def test_failures_none_when_every_run_trained():
    found = findings.failures(result(runs=grid_runs(val_acc=[0.9, 0.56])))
    assert found.n_grid == 2
    assert found.diverged == [] and found.stalled == []
    assert all(math.isnan(x) for x in found.stalled_dead)


def test_failures_name_the_diverged_and_stalled_runs():
    runs = grid_runs(
        diverged=[False, False, True, False, False],
        val_acc=[0.9, 0.5, math.nan, 0.55, 0.5],
        dead_relu=[0.05, 0.75, math.nan, 0.25, 0.9],
        lr=[0.01, 1.0, 2.0, 0.5, 1.0],
        momentum=[0.9, 0.0, 0.9, 0.0, 0.0],
        weight_decay=[0.0, 0.0, 0.0, 0.01, 0.0],
        stage=["grid"] * 4 + ["seeds"],  # not a grid run: not counted
    )
    runs.loc[len(runs)] = runs.iloc[1].copy()
    runs.loc[len(runs) - 1, ["run", "model"]] = ["lin", "linear"]  # a baseline
    found = findings.failures(result(runs=runs))
    assert found.n_grid == 4
    assert found.diverged == [(2.0, 0.9, 0.0)]
    assert found.stalled == [(1.0, 0.0, 0.0), (0.5, 0.0, 0.01)]  # <= 55 %
    assert found.stalled_dead == (0.25, 0.75)
    assert found.selected_dead == 0.05


# mistake_colours ------------------------------------------------------


def _colours(wrong_colour: int, right_colour: int):
    images = torch.zeros(5, 3, 2, 2, dtype=torch.uint8)
    images[0, wrong_colour] = 255  # a car taken for a cat
    images[1, right_colour] = 255  # a car recognised
    images[2, right_colour] = 255  # another car recognised
    labels = torch.tensor([0, 0, 0, 1, 1])  # cats 3 and 4: both recognised
    r = result(test={"misclassified": [{"index": 0}]})
    return findings.mistake_colours(r, images, labels)


def test_mistake_colours_warmer_and_colder():
    red, blue = 0, 2
    car = _colours(wrong_colour=red, right_colour=blue)["car"]
    assert (car.n_wrong, car.n_right) == (1, 2)
    assert (car.wrong, car.right, car.verdict) == (1.0, -1.0, "warmer")
    car = _colours(wrong_colour=blue, right_colour=red)["car"]
    assert (car.wrong, car.right, car.verdict) == (-1.0, 1.0, "colder")
    assert _colours(red, red)["car"].verdict == "same"


def test_mistake_colours_of_a_class_without_mistakes():
    cat = _colours(0, 2)["cat"]
    assert (cat.n_wrong, cat.n_right, cat.right) == (0, 2, 0.0)
    assert math.isnan(cat.wrong) and cat.verdict == "same"


# speed ----------------------------------------------------------------


def test_speed_verdicts_follow_the_ratio():
    def timed(manual):
        runs = grid_runs(
            seconds_manual=manual, seconds_sgd=[2.0] * len(manual)
        )
        return findings.speed(result(runs=runs))

    same = timed([2.0, 2.0])
    assert (same.sgd, same.manual, same.ratio) == (2 / 3, 2 / 3, 1.0)
    assert (same.verdict, same.n_runs) == ("as fast", 2)
    assert timed([2.08, 2.08]).verdict == "as fast"  # within 5 %
    assert timed([2.12, 2.12]).verdict == "slower"
    slow = timed([4.0, 4.0, 3.0])  # median per epoch 4/3 s
    assert (slow.ratio, slow.verdict) == (2.0, "slower")
    assert timed([1.0, 1.0]).verdict == "faster"


def test_speed_is_the_median_so_one_slow_run_does_not_decide():
    # One SGD run slowed tenfold (a busy machine) moves a mean, not the
    # median: both trainers still run at one speed.
    runs = grid_runs(seconds_sgd=[3.0, 3.0, 30.0], seconds_manual=[3.0] * 3)
    found = findings.speed(result(runs=runs))
    assert (found.sgd, found.ratio, found.verdict) == (1.0, 1.0, "as fast")


def test_speed_compares_like_with_like():
    runs = grid_runs(
        seconds_manual=[2.0, 100.0, 100.0],
        seconds_sgd=[2.0, 1.0, 1.0],
        epochs_run=[3, 0, 3],  # a run that diverged at once: no epoch
        model=["MyMLP", "MyMLP", "linear"],  # a baseline: one trainer
    )
    found = findings.speed(result(runs=runs))
    assert (found.ratio, found.n_runs) == (1.0, 1)


# seed_noise -----------------------------------------------------------


def seeds(val_acc, **columns) -> pd.DataFrame:
    runs = grid_runs(
        config=["x", "x", "y", "y", "x", "x"],
        protocol=["plain"] * 4 + ["flip"] * 2,
        val_acc=val_acc,
        val_loss=[0.3] * 6,
    )
    for name, values in columns.items():
        runs[name] = values
    return runs


def test_seed_noise_measures_spread_gap_and_flips():
    runs = seeds([0.90, 0.92, 0.905, 0.915, 0.93, 0.95])
    noise = findings.seed_noise(result(runs=runs))
    assert noise.n_seeds == 2
    assert noise.best == ("x", "flip")
    assert noise.best_mean == pytest.approx(0.94)
    assert noise.median_sd == pytest.approx(0.02 / math.sqrt(2))
    assert noise.max_range == pytest.approx(0.02)
    assert noise.gap == pytest.approx(0.03)  # 0.94 against 0.91
    assert noise.clear
    # the best mean of each protocol (x and y tie on plain at 0.91)
    assert noise.by_protocol == pytest.approx({"plain": 0.91, "flip": 0.94})
    # a third protocol, and a configuration only on it
    z_shift = runs[runs["config"] == "y"].assign(
        run=["g", "h"], config="z", protocol="shift", val_acc=[0.96, 0.98]
    )
    three = findings.seed_noise(result(runs=pd.concat([runs, z_shift])))
    assert three.by_protocol == pytest.approx(
        {"plain": 0.91, "flip": 0.94, "shift": 0.97}
    )
    assert three.best == ("z", "shift")


def test_seed_noise_is_the_median_spread_not_the_best_configurations():
    # Two steady configurations and a noisy best: the typical spread is 0.
    noise = findings.seed_noise(
        result(runs=seeds([0.90, 0.90, 0.80, 0.80, 0.93, 0.95]))
    )
    assert noise.best == ("x", "flip") and noise.median_sd == 0.0


def test_seed_noise_a_lead_within_the_noise_is_not_clear():
    noise = findings.seed_noise(
        result(runs=seeds([0.90, 0.90, 0.80, 0.80, 0.90, 0.90]))
    )
    assert noise.gap == 0 and noise.median_sd == 0 and not noise.clear
    assert noise.by_protocol["flip"] == noise.by_protocol["plain"]
    noise = findings.seed_noise(
        result(runs=seeds([0.90, 0.92, 0.90, 0.92, 0.80, 0.80]))
    )
    assert noise.best == ("x", "plain")
    assert noise.gap == pytest.approx(0) and not noise.clear


def test_seed_noise_leaves_out_diverged_and_single_seed_configs():
    runs = seeds(
        [0.99, 0.2, 0.905, 0.915, 0.93, 0.95],
        diverged=[False, True] + [False] * 4,  # x plain diverged once
    )
    single = runs.iloc[[0]].assign(run="z", config="z", val_acc=1.0)
    noise = findings.seed_noise(result(runs=pd.concat([runs, single])))
    assert noise.best == ("x", "flip")
    assert noise.gap == pytest.approx(0.03)  # against y plain
    assert noise.by_protocol == pytest.approx({"plain": 0.91, "flip": 0.94})
    with pytest.raises(ValueError, match="several seeds"):
        findings.seed_noise(result(runs=single))


# momentum_effect ------------------------------------------------------


def test_momentum_lowered_or_raised_the_loss():
    runs = grid_runs(
        source=["course", "course", "grid"],
        momentum=[0.0, 0.9, 0.9],
        final_train_loss=[0.6, 0.4, 0.1],
        epochs_run=[20, 20, 20],
    )
    mom = findings.momentum_effect(result(runs=runs))
    assert (mom.loss_without, mom.loss_with, mom.epochs) == (0.6, 0.4, 20)
    assert mom.lowered
    runs["final_train_loss"] = [0.4, 0.6, 0.1]
    assert not findings.momentum_effect(result(runs=runs)).lowered


def test_momentum_effect_needs_both_course_runs():
    runs = grid_runs(source=["course", "grid"], momentum=[0.0, 0.9])
    assert findings.momentum_effect(result(runs=runs)) is None
