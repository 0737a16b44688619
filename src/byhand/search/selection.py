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


def _ranked(stats: pd.DataFrame) -> pd.DataFrame:
    """`seed_stats` rows that never diverged, best first: the highest mean
    validation accuracy (ties: the lower mean validation loss, then the
    earlier)."""
    fine = stats[~stats["diverged"]].dropna(subset=["mean"])
    return fine.sort_values(
        ["mean", "val_loss", "order"], ascending=[False, True, True]
    )


def select(runs: pd.DataFrame, seed: int = 265) -> str:
    """The run id of the selected model: the best (`_ranked`) MyMLP
    configuration, on either protocol, among those trained with the most
    seeds; its run from the course's seed."""
    stats = seed_stats(runs)
    ranked = _ranked(stats[stats["n"] == stats["n"].max()])
    if ranked.empty:
        raise RuntimeError(
            "every configuration diverged: no model to select; lower the "
            "learning rates of the search"
        )
    config, protocol = ranked.index[0]
    hit = runs[
        (runs["config"] == config)
        & (runs["protocol"] == protocol)
        & (runs["seed"] == seed)
    ]
    return str(hit["run"].iloc[0])


def top_configs(runs: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` best (`_ranked`) MyMLP configurations of the grid stage."""
    ranked = _ranked(seed_stats(runs[runs["stage"] == "grid"]))
    return list(ranked.index.get_level_values("config")[:n])
