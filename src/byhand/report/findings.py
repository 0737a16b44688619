"""The numbers and verdicts the report's comments quote, measured: each
function returns a small record from which ``report.qmd`` picks its
words by a verdict token (such as ``"overfits"``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from byhand.search.results import SearchResult
from byhand.search.selection import seed_stats

# Validation accuracy at or below this is chance level (two classes).
CHANCE = 0.55
# A loss that moves by less than this share over the window is flat.
FLAT = 0.02
# Trainers whose times differ by less than this share run at one speed.
SAME_SPEED = 0.05

# (learning rate, momentum, weight decay) of a configuration.
Setting = tuple[float, float, float]


@dataclass(frozen=True)
class Curve:
    """One run's losses over its last epochs, and what they show."""

    run: str
    epochs: int
    window: int  # the last epochs the trend is read over
    train_from: float
    train_to: float
    val_from: float
    val_to: float
    best_epoch: int  # the epoch of the lowest validation loss
    best_val_loss: float
    trend: str  # "overfits", "flat", "falling" or "too short"


def learning_curve(result: SearchResult, run: str | None = None) -> Curve:
    """How one run's losses end (default: the selected run's), read over
    the last third of its epochs."""
    run = run or result.selected
    ep = result.epochs[result.epochs["run"] == run].sort_values("epoch")
    n = len(ep)
    if n == 0:
        raise ValueError(f"run {run!r} has no epochs in the results")
    k = min(max(2, n // 3), n - 1) if n > 1 else 0
    train, val = ep["train_loss"].to_numpy(), ep["val_loss"].to_numpy()
    i_min = int(val.argmin())
    v_min, va_a, va_b = float(val[i_min]), float(val[-k - 1]), float(val[-1])
    if n < 3:
        trend = "too short"
    elif va_b > v_min * (1 + FLAT) and i_min < n - 1:
        trend = "overfits"
    elif abs(va_b - va_a) <= FLAT * va_a:
        trend = "flat"
    else:
        trend = "falling"
    return Curve(
        run=run,
        epochs=n,
        window=k,
        train_from=float(train[-k - 1]),
        train_to=float(train[-1]),
        val_from=va_a,
        val_to=va_b,
        best_epoch=int(ep["epoch"].iloc[i_min]),
        best_val_loss=v_min,
        trend=trend,
    )


@dataclass(frozen=True)
class Failures:
    """Grid runs that diverged or stalled at chance level."""

    n_grid: int  # MyMLP configurations in the grid
    diverged: list[Setting]
    stalled: list[Setting]  # trained, validation accuracy <= CHANCE
    stalled_dead: tuple[float, float]  # least and most dead ReLU share
    selected_dead: float  # the dead ReLU share of the selected model


def failures(result: SearchResult) -> Failures:
    """The grid's failures, with the share of dead hidden ReLU units
    (zero for every validation image) of those that stalled."""
    runs = result.grid_runs().query("model == 'MyMLP'")
    diverged = runs["diverged"].astype(bool)
    stalled = ~diverged & (runs["val_acc"] <= CHANCE)
    dead = runs.loc[stalled, "dead_relu"]
    settings = runs[["lr", "momentum", "weight_decay"]].astype(float)
    return Failures(
        n_grid=len(runs),
        diverged=list(settings[diverged].itertuples(index=False, name=None)),
        stalled=list(settings[stalled].itertuples(index=False, name=None)),
        stalled_dead=(float(dead.min()), float(dead.max())),  # NaN: none
        selected_dead=float(result.selected_row()["dead_relu"]),
    )


@dataclass(frozen=True)
class Warmth:
    """One true class's test images, split by the model's verdict."""

    n_wrong: int
    n_right: int
    wrong: float  # mean red minus mean blue on [0, 1]; NaN when none
    right: float
    verdict: str  # the wrong ones are "warmer", "colder" or the "same"


def mistake_colours(
    result: SearchResult, test_images: torch.Tensor, test_labels: torch.Tensor
) -> dict[str, Warmth]:
    """Are the misclassified test images warmer or colder than the
    recognised ones of the same class?  One record per class name."""
    wrong = torch.zeros(len(test_labels), dtype=torch.bool)
    wrong[[m["index"] for m in result.test["misclassified"]]] = True
    x = test_images.to(torch.float64) / 255
    warmth = x[:, 0] - x[:, 2]  # red minus blue: > 0 warm, < 0 cold
    found = {}
    for c, name in enumerate(result.meta["classes"]):
        bad, good = (test_labels == c) & wrong, (test_labels == c) & ~wrong
        # the mean of no image is NaN
        w_bad, w_good = float(warmth[bad].mean()), float(warmth[good].mean())
        found[name] = Warmth(
            n_wrong=int(bad.sum()),
            n_right=int(good.sum()),
            wrong=w_bad,
            right=w_good,
            verdict="warmer"
            if w_bad > w_good
            else "colder"
            if w_bad < w_good
            else "same",  # equal, or a group is empty (NaN)
        )
    return found


@dataclass(frozen=True)
class Speed:
    """Median seconds per epoch of training alone, for each trainer."""

    sgd: float
    manual: float
    ratio: float  # manual / sgd
    n_runs: int
    verdict: str  # the manual update is "as fast", "slower" or "faster"


def speed(result: SearchResult) -> Speed:
    """Like for like: the grid's MyMLP runs, trained both ways."""
    runs = result.grid_runs().query("model == 'MyMLP' and epochs_run > 0")
    sgd = float((runs["seconds_sgd"] / runs["epochs_run"]).median())
    manual = float((runs["seconds_manual"] / runs["epochs_run"]).median())
    ratio = manual / sgd
    if abs(ratio - 1) < SAME_SPEED:
        verdict = "as fast"
    else:
        verdict = "slower" if ratio > 1 else "faster"
    return Speed(
        sgd=sgd, manual=manual, ratio=ratio, n_runs=len(runs), verdict=verdict
    )


@dataclass(frozen=True)
class SeedNoise:
    """How far the seeds move validation accuracy, against the gaps."""

    n_seeds: int  # seeds of the best configuration
    median_sd: float  # of validation accuracy over the seeds
    max_range: float  # the widest max - min over the seeds
    best: tuple[str, str]  # (configuration, protocol) of the best mean
    best_mean: float
    gap: float  # best mean minus the runner-up's; NaN without one
    clear: bool  # the gap is larger than the median standard deviation
    by_protocol: dict[str, float]  # the best mean of each protocol


def seed_noise(result: SearchResult) -> SeedNoise:
    """The spread over seeds of the configurations trained with several,
    the lead of the best mean, and the best mean of each protocol."""
    stats = seed_stats(result.runs).query("n > 1 and not diverged")
    if stats.empty:
        raise ValueError(
            "no configuration was trained with several seeds: the search "
            "profile needs extra_seeds for the seed comparison"
        )
    ranked = stats.sort_values("mean", ascending=False)
    means = ranked["mean"]
    sd = float(stats["sd"].median())
    gap = float(means.iloc[0] - means.iloc[1]) if len(means) > 1 else math.nan
    by_protocol = ranked.groupby(level="protocol", sort=False)["mean"].max()
    return SeedNoise(
        n_seeds=int(ranked["n"].iloc[0]),
        median_sd=sd,
        max_range=float((stats["max"] - stats["min"]).max()),
        best=ranked.index[0],
        best_mean=float(means.iloc[0]),
        gap=gap,
        clear=bool(gap > sd),
        by_protocol={k: float(v) for k, v in by_protocol.items()},
    )


@dataclass(frozen=True)
class Momentum:
    """The course's runs at lr 0.01 without and with momentum 0.9."""

    loss_without: float  # final training loss, momentum 0
    loss_with: float  # final training loss, momentum 0.9
    epochs: int
    lowered: bool  # momentum gave the lower final training loss


def momentum_effect(result: SearchResult) -> Momentum | None:
    """Tasks 5 and 7 side by side; None when the search skipped one."""
    course = result.grid_runs().query(
        "model == 'MyMLP' and source == 'course'"
    )
    course = course.set_index(["momentum", "weight_decay"])
    if (0.0, 0.0) not in course.index or (0.9, 0.0) not in course.index:
        return None
    plain, mom = course.loc[(0.0, 0.0)], course.loc[(0.9, 0.0)]
    return Momentum(
        loss_without=float(plain["final_train_loss"]),
        loss_with=float(mom["final_train_loss"]),
        epochs=int(plain["epochs_run"]),
        lowered=bool(mom["final_train_loss"] < plain["final_train_loss"]),
    )
