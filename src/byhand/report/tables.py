"""The search's tables as the chapters and the report show them."""

from __future__ import annotations

import math
from itertools import zip_longest

import numpy as np
import pandas as pd
from torch import nn

from byhand.search.pair import bitwise_diff
from byhand.search.results import SearchResult
from byhand.search.selection import seed_stats
from byhand.training import History

TASKS_5_TO_7 = (
    ("5: plain", (0.01, 0.0, 0.0)),
    ("6: weight decay", (0.01, 0.0, 0.01)),
    ("7: momentum", (0.01, 0.9, 0.0)),
)


def label_rows(table: pd.DataFrame, column: str | None = None) -> pd.DataFrame:
    """Rows labelled by ``column`` (else the index), the name in the
    header's corner: as the columns' name, not the index's (pandas gives
    an index name a second header row)."""
    if column is not None:
        table = table.set_index(column)
    name = table.index.name
    return table.rename_axis(index=None, columns=name)


def _num(x: float, fmt: str = ".3f") -> str:
    return "–" if x != x else format(x, fmt)  # NaN: an en dash


def results_table(result: SearchResult) -> pd.DataFrame:
    """The grid stage, narrow enough for a page: numbers formatted ("–"
    where none), the status marking the configurations that went on to
    the seeds (``top``) and the selected."""
    runs = result.grid_runs().set_index("run")
    chosen = result.selected_row()["config"]
    top = result.runs.loc[result.runs["stage"] != "grid", "config"]
    names = ["lr", "mom.", "wd", "train acc.", "val. acc.", "val. loss"]
    settings = runs[["lr", "momentum", "weight_decay"]].map(_num, fmt="g")
    scores = runs[["train_acc", "val_acc", "val_loss"]].map(_num)
    table = pd.concat([settings, scores], axis="columns")
    table = table.set_axis(names, axis="columns")
    table["SGD = manual"] = [
        ("yes" if i else "NO") if c else "–"
        for i, c in zip(runs["identical"], runs["checked"], strict=True)
    ]
    table["status"] = np.select(
        [runs["config"] == chosen, runs["config"].isin(top), runs["diverged"]],
        ["SELECTED", "top", "diverged"],
        "trained",
    )
    return label_rows(table)


def comparison_table(result: SearchResult) -> pd.DataFrame:
    """Tasks 5-7: SGD against the manual update, per setting (lr 0.01):
    final losses, whether every epoch's loss is the same float, and the
    largest parameter difference over all epochs."""
    runs = result.grid_runs().query("model == 'MyMLP'")
    settings = runs[["lr", "momentum", "weight_decay"]]
    rows = []
    for task, (lr, mom, wd) in TASKS_5_TO_7:
        hit = runs[settings.eq([lr, mom, wd]).all(axis="columns")]
        if hit.empty:
            continue
        row = hit.iloc[0]
        ep = result.epochs[result.epochs["run"] == row["run"]]
        same = bool((ep["train_loss"] == ep["train_loss_manual"]).all())
        rows.append(
            {
                "task": task,
                "momentum": mom,
                "weight decay": wd,
                "loss SGD": ep["train_loss"].iloc[-1],
                "loss manual": ep["train_loss_manual"].iloc[-1],
                "same losses": "yes" if same else "NO",
                "max diff.": row["max_abs_diff"],
            }
        )
    return label_rows(pd.DataFrame(rows), "task")


def test_table(result: SearchResult) -> pd.DataFrame:
    """The selected model's test evaluation as a small table."""
    t = result.test
    lo, hi = t["ci95"]
    note = f"95 % CI [{lo:.3f}, {hi:.3f}], n = {t['n']}"
    rows = [("accuracy", t["accuracy"], note)]
    for c in t["per_class"]:
        rows.append((f"precision ({c['class']})", c["precision"], ""))
        rows.append(
            (f"recall ({c['class']})", c["recall"], f"support {c['support']}")
        )
    table = pd.DataFrame(rows, columns=["metric", "value", "note"])
    return label_rows(table, "metric")


def seed_table(result: SearchResult) -> pd.DataFrame:
    """Validation accuracy over seeds (mean ± sd, min-max) of each
    configuration and protocol trained from several; * marks the
    selected."""
    stats = seed_stats(result.runs).query("n > 1")
    best = result.selected_row()
    first = result.runs.groupby(["config", "protocol"]).first()
    rows = []
    for (config, protocol), s in stats.iterrows():
        row = first.loc[(config, protocol)]
        chosen = (config, protocol) == (best["config"], best["protocol"])
        spread = f"{s['mean']:.3f} ± {s['sd']:.3f}{' *' if chosen else ''}"
        rows.append({
            "config": config,
            "protocol": protocol,
            "lr": f"{row.lr:g}",
            "mom.": f"{row.momentum:g}",
            "wd": f"{row.weight_decay:g}",
            "seeds": int(s["n"]),
            "mean ± sd": "diverged" if s["diverged"] else spread,
            "range": (
                "–" if s["diverged"] else f"{s['min']:.3f}–{s['max']:.3f}"
            ),
        })  # fmt: skip
    return label_rows(pd.DataFrame(rows), "config")


def selected_table(result: SearchResult) -> pd.DataFrame:
    """The selected configuration and its accuracy on each split."""
    best = result.selected_row()
    stats = seed_stats(result.runs).loc[(best["config"], best["protocol"])]
    test = result.test
    lo, hi = test["ci95"]
    values = {
        "configuration": best["config"],
        "protocol": best["protocol"],
        "learning rate": f"{best.lr:g}",
        "momentum": f"{best.momentum:g}",
        "weight decay": f"{best.weight_decay:g}",
        f"validation accuracy over {int(stats['n'])} seeds": (
            f"{stats['mean']:.3f} ± {_num(stats['sd'])}"
        ),
        f"model evaluated (seed {int(best.seed)})": result.selected,
        "accuracy, training split": _num(best.train_acc),
        "accuracy, validation split": _num(best.val_acc),
        "accuracy, test split": _num(test["accuracy"]),
        "95 % CI, test accuracy": f"[{lo:.3f}, {hi:.3f}]",
    }
    return pd.DataFrame.from_dict(values, orient="index", columns=["value"])


def side_by_side(
    h_sgd: History,
    h_manual: History,
    model_sgd: nn.Module,
    model_manual: nn.Module,
) -> pd.DataFrame:
    """Both trainers' loss per epoch with every digit (``repr``), whether
    they are the same float, and in the last row whether every final
    parameter is equal (`bitwise_diff`)."""
    pairs = list(
        zip_longest(h_sgd.losses, h_manual.losses, fillvalue=math.nan)
    )
    params = zip(
        model_sgd.parameters(), model_manual.parameters(), strict=True
    )
    same_params = all(bitwise_diff(a, b) == 0.0 for a, b in params)
    table = pd.DataFrame(
        {
            "loss SGD": [repr(a) for a, _ in pairs],
            "loss manual": [repr(b) for _, b in pairs],
            "same float": ["yes" if a == b else "NO" for a, b in pairs],
            "parameters equal": "",
        },
        index=pd.RangeIndex(1, len(pairs) + 1, name="epoch"),
    )
    if pairs:
        table.iloc[-1, -1] = "yes" if same_params else "NO"
    return label_rows(table)
