"""Task 9: which configuration wins, by validation accuracy over seeds."""

from __future__ import annotations

import pandas as pd


def seed_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """Validation accuracy over seeds per (config, protocol) of MyMLP:
    n, mean, sd, min, max, mean val_loss, diverged (any seed), order."""
    mlp = runs[runs["model"] == "MyMLP"]
    g = mlp.groupby(["config", "protocol"], sort=False)
    stats = g.agg(
        n=("run", "size"),
        mean=("val_acc", "mean"),
        sd=("val_acc", "std"),
        min=("val_acc", "min"),
        max=("val_acc", "max"),
        val_loss=("val_loss", "mean"),
        diverged=("diverged", "any"),
    )
    stats["order"] = range(len(stats))
    return stats


def select(runs: pd.DataFrame, seed: int = 265) -> str:
    """The run id of the selected model: among the MyMLP configurations
    (on either protocol) trained with the most seeds, none diverged, the
    highest mean validation accuracy over the seeds (ties: the lower mean
    validation loss, then the earlier); its run from the course's seed.
    """
    stats = seed_stats(runs)
    full = stats[(stats["n"] == stats["n"].max()) & ~stats["diverged"]]
    full = full.dropna(subset=["mean"])
    if full.empty:
        raise RuntimeError(
            "every configuration diverged: no model to select; lower the "
            "learning rates of the search"
        )
    ranked = full.sort_values(
        ["mean", "val_loss", "order"], ascending=[False, True, True]
    )
    config, protocol = ranked.index[0]
    hit = runs[
        (runs["config"] == config)
        & (runs["protocol"] == protocol)
        & (runs["seed"] == seed)
    ]
    return str(hit["run"].iloc[0])


def top_configs(runs: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` best MyMLP configurations of the grid stage."""
    grid = runs[(runs["stage"] == "grid") & (runs["model"] == "MyMLP")]
    grid = grid[~grid["diverged"].astype(bool)].dropna(subset=["val_acc"])
    ranked = grid.assign(order=range(len(grid))).sort_values(
        ["val_acc", "val_loss", "order"], ascending=[False, True, True]
    )
    return list(ranked["config"][:n])
