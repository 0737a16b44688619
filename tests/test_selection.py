"""byhand.search.selection: the rule of task 9 on known runs."""

import math

import pandas as pd
import pytest

from byhand.search import selection

pytestmark = pytest.mark.task9


def runs_table(rows):
    """Runs from (config, protocol, seed, val_acc, val_loss) tuples."""
    return pd.DataFrame(
        [
            {
                "run": f"{c}-{p}-{s}", "config": c, "protocol": p,
                "seed": s, "model": "MyMLP", "diverged": a != a,
                "val_acc": a, "val_loss": loss,
            }
            for c, p, s, a, loss in rows
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "selected"),
    [
        pytest.param(
            # "a" wins from the course's seed (0.90), "b" has the better
            # mean; "c" has one seed only: no candidate.
            [("a", "plain", 265, 0.90, 0.3), ("a", "plain", 1, 0.80, 0.3),
             ("b", "plain", 265, 0.88, 0.3), ("b", "plain", 1, 0.87, 0.3),
             ("c", "plain", 265, 0.95, 0.3)],
            "b-plain-265",
            id="mean-over-seeds",
        ),
        pytest.param(
            # Protocols compete; accuracy ranks before loss.
            [("a", "plain", 265, 0.90, 0.5), ("a", "plain", 1, 0.90, 0.5),
             ("a", "flip", 265, 0.92, 0.9), ("a", "flip", 1, 0.92, 0.9)],
            "a-flip-265",
            id="protocols-accuracy-before-loss",
        ),
        pytest.param(
            # Equal mean accuracy: "b" has the lower mean loss (0.3
            # against 0.4), although "a" has the lowest single loss (0.2).
            [("a", "plain", 265, 0.90, 0.2), ("a", "plain", 1, 0.90, 0.6),
             ("b", "plain", 265, 0.90, 0.3), ("b", "plain", 1, 0.90, 0.3)],
            "b-plain-265",
            id="ties-by-mean-loss",
        ),
    ],
)  # fmt: skip
def test_select_ranks_mean_accuracy_over_seeds(rows, selected):
    assert selection.select(runs_table(rows)) == selected


def test_select_breaks_ties_by_loss_and_skips_diverged_and_baselines():
    runs = runs_table(
        [("a", "plain", 265, 0.8, 0.5), ("b", "plain", 265, 0.8, 0.4),
         ("c", "plain", 265, math.nan, math.nan),
         ("lin", "plain", 265, 0.99, 0.1)]
    )  # fmt: skip
    runs.loc[3, "model"] = "linear"
    assert selection.select(runs) == "b-plain-265"
    # A configuration that diverged on one seed is no candidate.
    more = runs_table(
        [("a", "plain", 265, 0.9, 0.5), ("a", "plain", 1, math.nan, 1.0),
         ("b", "plain", 265, 0.8, 0.5), ("b", "plain", 1, 0.8, 0.5)]
    )  # fmt: skip
    assert selection.select(more) == "b-plain-265"
    with pytest.raises(RuntimeError, match="every configuration diverged"):
        selection.select(runs.assign(diverged=True))


def test_top_configs_are_the_grids_best_by_accuracy_then_loss():
    runs = runs_table(
        [("a", "plain", 265, 0.70, 0.5), ("b", "plain", 265, 0.90, 0.6),
         ("c", "plain", 265, 0.90, 0.4), ("d", "plain", 265, math.nan, 9.0),
         ("e", "plain", 265, 0.80, 0.5), ("lin", "plain", 265, 0.99, 0.1),
         ("a", "plain", 1, 0.99, 0.1)]  # another stage: not the grid
    ).assign(stage=["grid"] * 6 + ["seeds"])  # fmt: skip
    runs.loc[5, "model"] = "linear"
    assert selection.top_configs(runs, 3) == ["c", "b", "e"]
    assert selection.top_configs(runs, 9) == ["c", "b", "e", "a"]
