"""The search's tables as the chapters and the report show them."""

from __future__ import annotations

import pandas as pd

from byhand.results import SearchResult

TASKS_5_TO_7 = (
    ("5: plain", (0.01, 0.0, 0.0)),
    ("6: weight decay", (0.01, 0.0, 0.01)),
    ("7: momentum", (0.01, 0.9, 0.0)),
)


def _num(x: float, fmt: str = ".3f") -> str:
    return "–" if x != x else format(x, fmt)  # NaN: an en dash


def results_table(result: SearchResult) -> pd.DataFrame:
    """Every run as the report shows it, narrow enough for a PDF page.

    Numbers come formatted (3 decimals, "–" where a run has none); the
    run id says course/grid/baseline and the status marks the selected.
    """
    runs = result.runs

    def status(row: pd.Series) -> str:
        if row["selected"]:
            return "SELECTED"
        return "diverged" if row["diverged"] else "trained"

    table = pd.DataFrame(
        {
            "lr": [_num(v, "g") for v in runs["lr"]],
            "mom.": [_num(v, "g") for v in runs["momentum"]],
            "wd": [_num(v, "g") for v in runs["weight_decay"]],
            "train acc.": [_num(v) for v in runs["train_acc"]],
            "val. acc.": [_num(v) for v in runs["val_acc"]],
            "val. loss": [_num(v) for v in runs["val_loss"]],
            "SGD = manual": runs["identical"].map({True: "yes", False: "NO"}),
            "status": [status(r) for _, r in runs.iterrows()],
        }
    )
    table.index = pd.Index(runs["run"], name="run")
    return table


def comparison_table(result: SearchResult) -> pd.DataFrame:
    """Tasks 5-7: SGD against the manual update, per setting (lr 0.01).

    The final training loss of each, whether every epoch's loss is the
    same float, and the largest parameter difference over all epochs.
    """
    runs = result.runs[result.runs["model"] == "MyMLP"]
    rows = []
    for task, (lr, mom, wd) in TASKS_5_TO_7:
        hit = runs[
            (runs["lr"] == lr)
            & (runs["momentum"] == mom)
            & (runs["weight_decay"] == wd)
        ]
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
    return pd.DataFrame(rows).set_index("task")


def test_table(result: SearchResult) -> pd.DataFrame:
    """The selected model's test evaluation as a small table."""
    t = result.test
    lo, hi = t["ci95"]
    rows = [
        {
            "metric": "accuracy",
            "value": t["accuracy"],
            "note": f"95 % CI [{lo:.3f}, {hi:.3f}], n = {t['n']}",
        },
    ]
    for c in t["per_class"]:
        rows.append(
            {
                "metric": f"precision ({c['class']})",
                "value": c["precision"],
                "note": "",
            }
        )
        rows.append(
            {
                "metric": f"recall ({c['class']})",
                "value": c["recall"],
                "note": f"support {c['support']}",
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def confusion_table(result: SearchResult) -> pd.DataFrame:
    """Rows: true class; columns: predicted class (test split)."""
    classes = result.meta["classes"]
    return pd.DataFrame(
        result.test["confusion"],
        index=pd.Index([f"true {c}" for c in classes]),
        columns=[f"predicted {c}" for c in classes],
    )


def selected_table(result: SearchResult) -> pd.DataFrame:
    """The selected configuration and its accuracy on each split."""
    best = result.selected_row()
    test = result.test
    lo, hi = test["ci95"]
    values = {
        "configuration": result.selected,
        "learning rate": f"{best.lr:g}",
        "momentum": f"{best.momentum:g}",
        "weight decay": f"{best.weight_decay:g}",
        "accuracy, training split": _num(best.train_acc),
        "accuracy, validation split": _num(best.val_acc),
        "accuracy, test split": _num(test["accuracy"]),
        "95 % CI, test accuracy": f"[{lo:.3f}, {hi:.3f}]",
    }
    return pd.DataFrame(
        {"value": list(values.values())},
        index=pd.Index(list(values), name=""),
    )
