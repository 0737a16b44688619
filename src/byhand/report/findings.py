"""The report's comments on the results, measured rather than assumed.

Each function reads a search's results and returns a sentence that says
what this run shows, with its numbers; another run gives another
sentence.  The report prints them in its answer to question (g).
"""

from __future__ import annotations

import pandas as pd
import torch

from byhand.search.results import SearchResult
from byhand.search.selection import seed_stats

# Accuracy at or below this on the validation split counts as chance
# level for two balanced classes.
CHANCE = 0.55
# A loss that moves by less than this share over the window is flat.
FLAT = 0.02


def _count(n: int, noun: str = "configuration") -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _span(lo: float, hi: float) -> str:
    return _pct(lo) if _pct(lo) == _pct(hi) else f"{_pct(lo)} to {_pct(hi)}"


def _curve(ep: pd.DataFrame, column: str, k: int) -> tuple[float, float]:
    values = ep[column].to_numpy()
    return float(values[-k - 1]), float(values[-1])


def learning_curve(result: SearchResult, run: str | None = None) -> str:
    """How the training and validation losses end, for one run."""
    run = run or result.selected
    ep = result.epochs[result.epochs["run"] == run].sort_values("epoch")
    n = len(ep)
    if n < 3:
        return f"Run {run} trained for only {n} epoch(s): no trend to read."
    k = max(2, n // 3)  # the last third of the epochs
    k = min(k, n - 1)
    tr_a, tr_b = _curve(ep, "train_loss", k)
    va_a, va_b = _curve(ep, "val_loss", k)
    i_min = int(ep["val_loss"].to_numpy().argmin())
    e_min = int(ep["epoch"].iloc[i_min])
    v_min = float(ep["val_loss"].iloc[i_min])
    train = f"the training loss goes from {tr_a:.3f} to {tr_b:.3f}"
    if va_b > v_min * (1 + FLAT) and e_min < n:
        return (
            f"Over the last {k} epochs {train}, while the validation loss "
            f"is lowest at epoch {e_min} ({v_min:.3f}) and ends "
            f"{_pct(va_b / v_min - 1)} higher ({va_b:.3f}): the model "
            "starts to overfit, and fewer epochs would do as well."
        )
    if abs(va_b - va_a) <= FLAT * va_a:
        return (
            f"Over the last {k} epochs {train}, while the validation loss "
            f"stays flat ({va_a:.3f} to {va_b:.3f}): further training fits "
            "the training images without helping unseen ones."
        )
    return (
        f"Over the last {k} epochs {train} and the validation loss from "
        f"{va_a:.3f} to {va_b:.3f}: both still fall, so more epochs could "
        "still help."
    )


def failures(result: SearchResult) -> str | None:
    """Runs that diverged or stalled at chance level, with dead units."""
    runs = result.grid_runs()
    runs = runs[runs["model"] == "MyMLP"]
    diverged = runs[runs["diverged"].astype(bool)]
    stalled = runs[
        ~runs["diverged"].astype(bool) & (runs["val_acc"] <= CHANCE)
    ]
    if diverged.empty and stalled.empty:
        return None

    def names(rows: pd.DataFrame) -> str:
        return "; ".join(
            f"lr {r.lr:g}, momentum {r.momentum:g}, weight decay "
            f"{r.weight_decay:g}"
            for r in rows.itertuples()
        )

    parts = []
    if len(diverged):
        parts.append(
            f"{_count(len(diverged))} diverged (loss not finite or "
            f"exploding) and stopped: {names(diverged)}."
        )
    if len(stalled):
        dead = stalled["dead_relu"]
        best = result.selected_row()
        parts.append(
            f"{_count(len(stalled))} trained but ended at chance "
            f"level (validation accuracy at most {_pct(CHANCE)}): "
            f"{names(stalled)}. Measured on the validation images, "
            f"{_span(dead.min(), dead.max())} of their hidden ReLU "
            "units output zero for every image (dead units pass no "
            "gradient, so they never recover), against "
            f"{_pct(best.dead_relu)} in the selected model."
        )
    return " ".join(parts)


def _warmth(images: torch.Tensor) -> float:
    """Mean red minus mean blue on [0, 1]: > 0 warm, < 0 cold."""
    x = images.to(torch.float64) / 255
    return float((x[:, 0] - x[:, 2]).mean())


def mistake_colours(
    result: SearchResult, test_images: torch.Tensor, test_labels: torch.Tensor
) -> str | None:
    """Are the misclassified images warmer or colder than the others?

    Compares, per true class, the mean warmth (red minus blue) of the test
    images the model got wrong with those it got right.
    """
    classes = result.meta["classes"]
    wrong = torch.zeros(len(test_labels), dtype=torch.bool)
    for m in result.test["misclassified"]:
        wrong[m["index"]] = True
    parts = []
    for c, name in enumerate(classes):
        is_c = test_labels == c
        bad, good = is_c & wrong, is_c & ~wrong
        if not bad.any() or not good.any():
            continue
        w_bad, w_good = _warmth(test_images[bad]), _warmth(test_images[good])
        other = classes[1 - c] if len(classes) == 2 else "another class"
        word = "warmer" if w_bad > w_good else "colder"
        n_bad = int(bad.sum())
        verb = "is" if n_bad == 1 else "are"
        parts.append(
            f"{_count(n_bad, name)} taken for {other}s {verb} {word} than "
            f"the {int(good.sum())} recognised ({w_bad:+.3f} against "
            f"{w_good:+.3f})"
        )
    if not parts:
        return None
    return (
        "Measured as mean red minus mean blue on the test images: "
        + "; ".join(parts)
        + "."
    )


def speed(result: SearchResult) -> str:
    """Seconds per epoch of each trainer, training alone, and the ratio."""
    # Like for like: the runs trained both ways, on the same data.
    runs = result.grid_runs()
    runs = runs[(runs["model"] == "MyMLP") & (runs["epochs_run"] > 0)]
    per_epoch_sgd = (runs["seconds_sgd"] / runs["epochs_run"]).median()
    per_epoch_man = (runs["seconds_manual"] / runs["epochs_run"]).median()
    ratio = per_epoch_man / per_epoch_sgd
    if abs(ratio - 1) < 0.05:
        verdict = "the same speed within 5 %"
    elif ratio > 1:
        verdict = f"the manual update {_pct(ratio - 1)} slower"
    else:
        verdict = f"the manual update {_pct(1 - ratio)} faster"
    return (
        f"Training alone (validation and the comparison excluded), one "
        f"epoch takes a median {per_epoch_sgd:.3f} s with torch.optim.SGD "
        f"and {per_epoch_man:.3f} s with the manual update on "
        f"{result.meta['device']}: {verdict} (ratio {ratio:.2f}, over "
        f"{len(runs)} configurations)."
    )


def seed_noise(result: SearchResult) -> str:
    """How far seeds move validation accuracy, against the gaps."""
    stats = seed_stats(result.runs)
    stats = stats[(stats["n"] > 1) & ~stats["diverged"]]
    if stats.empty:
        return "No configuration was trained with several seeds."
    ranked = stats.sort_values("mean", ascending=False)
    best = ranked.iloc[0]
    sd = stats["sd"].median()
    text = (
        f"Over {int(best['n'])} seeds, the validation accuracy of one "
        f"configuration varies with a median standard deviation of "
        f"{100 * sd:.2f} points (ranges up to "
        f"{100 * (stats['max'] - stats['min']).max():.1f} points)."
    )
    if len(ranked) > 1:
        gap = best["mean"] - ranked.iloc[1]["mean"]
        verdict = (
            "smaller than one standard deviation: the winner is not "
            "clearly better than the runner-up"
            if gap <= sd
            else "larger than one standard deviation of the seeds"
        )
        text += (
            f" The best mean ({ranked.index[0][0]}, "
            f"{ranked.index[0][1]}: {best['mean']:.3f}) leads the "
            f"runner-up by {100 * gap:.2f} points, {verdict}."
        )
    plain = stats.xs("plain", level="protocol")["mean"]
    if "flip" in stats.index.get_level_values("protocol"):
        flip = stats.xs("flip", level="protocol")["mean"]
        common = plain.index.intersection(flip.index)
        if len(common):
            diff = (flip[common] - plain[common]).mean()
            text += (
                f" The flip protocol changes the mean validation accuracy "
                f"of the same configurations by {100 * diff:+.2f} points "
                "on average."
            )
    return text


def protocol_choice(result: SearchResult) -> str:
    """Which protocol the selected model comes from, and why it may."""
    best = result.selected_row()
    why = (
        "a preprocessing choice the assignment leaves open: MyMLP learns "
        "from mirrored copies of the training images, the network is the "
        "same, and no validation or test image is flipped"
    )
    if best["protocol"] == "flip":
        return f"The selected model comes from the flip protocol, {why}."
    return (
        "The selected model comes from the plain protocol: the mirror "
        "images did not give a higher mean validation accuracy "
        "(@tbl-seeds). Had they, choosing them would have been legitimate, "
        f"{why}."
    )
