"""byhand.report.tables: what the report shows, from a small search."""

import dataclasses

import pandas as pd
import pytest
import torch

from byhand import training
from byhand.report import tables
from byhand.search import selection


@pytest.fixture
def result(hard):
    return hard.result


def test_results_table_has_every_run_and_marks_the_selected(result):
    t = tables.results_table(result)
    grid = result.runs[result.runs["stage"] == "grid"]
    assert list(t.index) == list(grid["run"])
    assert (t["status"] == "SELECTED").sum() == 1
    chosen = result.selected_row()["config"]
    assert t.loc[chosen, "status"] == "SELECTED"
    assert (t["status"] == "top").sum() == result.config.n_top - 1
    assert "diverged" in set(t["status"])
    assert t.loc["majority", "lr"] == "–"
    row = result.runs.set_index("run").loc[chosen]
    assert t.loc[chosen, "val. acc."] == f"{row.val_acc:.3f}"
    assert t.shape[1] <= 8  # fits a PDF page


def test_comparison_table_reads_the_epochs(result):
    t = tables.comparison_table(result)
    assert list(t.index) == ["5: plain", "6: weight decay"]
    runs = result.runs[result.runs["stage"] == "grid"]
    hit = runs[(runs["momentum"] == 0.0) & (runs["weight_decay"] == 0.01)]
    ep = result.epochs
    (run,) = hit["run"]
    last = ep[ep["run"] == run]["train_loss_manual"].iloc[-1]
    assert t.loc["6: weight decay", "loss manual"] == last
    assert (t["same losses"] == "yes").all()


def test_test_table(result):
    t = tables.test_table(result)
    assert t.loc["accuracy", "value"] == result.test["accuracy"]


def test_seed_table_has_every_protocol(result):
    t = tables.seed_table(result)
    runs = result.runs
    stats = selection.seed_stats(runs)
    several = stats[stats["n"] > 1]
    # One row per configuration and protocol trained from several seeds.
    assert sorted(zip(t.index, t["protocol"], strict=True)) == sorted(
        several.index
    )
    assert {"plain", "flip", "shift"} <= set(t["protocol"])
    assert sum("*" in v for v in t["mean ± sd"]) == 1


def test_selected_table(result):
    t = tables.selected_table(result)
    best = result.selected_row()
    assert t.loc["configuration", "value"] == best["config"]
    assert t.loc["protocol", "value"] == best["protocol"]
    lo, hi = result.test["ci95"]
    assert t.loc["95 % CI, test accuracy", "value"] == f"[{lo:.3f}, {hi:.3f}]"


def _net():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))


def _loader():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(12, 4, generator=g)
    y = (X[:, 0] > 0).long()
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y), batch_size=4
    )


def test_side_by_side_shows_equal_and_unequal_floats():
    torch.manual_seed(0)
    a, b = _net(), _net()
    h = training.train_manual_update(2, 0.1, a, torch.nn.CrossEntropyLoss(),
                            _loader())  # fmt: skip
    table = tables.side_by_side(h, h, a, a)
    assert list(table["same float"]) == ["yes", "yes"]
    assert table["parameters equal"].iloc[-1] == "yes"
    assert table["loss SGD"].iloc[0] == repr(h.losses[0])
    other = type(h)(losses=[h.losses[0], h.losses[1] + 1e-16])
    table = tables.side_by_side(h, other, a, b)
    assert list(table["same float"]) == ["yes", "NO"]
    assert table["parameters equal"].iloc[-1] == "NO"
    # A run that stopped early (diverged): every epoch of the longer one.
    short = type(h)(losses=h.losses[:1], diverged=True)
    table = tables.side_by_side(h, short, a, a)
    assert list(table["loss manual"]) == [repr(h.losses[0]), "nan"]
    assert list(table["same float"]) == ["yes", "NO"]


def header_rows(table) -> int:
    """Rows of the table's HTML header (pandas adds one for an index name)."""
    html = table.to_html()
    return html.split("</thead>")[0].count("<tr")


@pytest.mark.parametrize(
    ("make", "label"),
    [
        (tables.results_table, "run"),
        (tables.comparison_table, "task"),
        (tables.seed_table, "config"),
        (tables.test_table, "metric"),
        (tables.selected_table, None),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_tables_have_one_header_row_naming_the_row_labels(result, make, label):
    table = make(result)
    assert header_rows(table) == 1
    assert table.columns.name == label
    # Row labels, not pandas' 0, 1, 2, ...
    assert not isinstance(table.index, pd.RangeIndex)
    if label:
        corner = table.to_html().split("<th>")[1].split("</th>")[0]
        assert corner == label
        assert table.to_string().split()[0] == label


def test_side_by_side_has_one_header_row_numbering_the_epochs():
    torch.manual_seed(0)
    a = _net()
    h = training.train_manual_update(2, 0.1, a, torch.nn.CrossEntropyLoss(),
                            _loader())  # fmt: skip
    table = tables.side_by_side(h, h, a, a)
    assert header_rows(table) == 1
    assert table.columns.name == "epoch"
    assert list(table.index) == [1, 2]


def test_label_rows_moves_a_column_or_the_index_name_to_the_header():
    df = pd.DataFrame({"run": ["a", "b"], "acc": [0.5, 0.7]})
    moved = tables.label_rows(df, "run")
    assert list(moved.index) == ["a", "b"] and moved.index.name is None
    assert list(moved.columns) == ["acc"] and moved.columns.name == "run"
    again = tables.label_rows(df.set_index("run"))
    assert again.equals(moved) and again.columns.name == "run"
    assert header_rows(df.set_index("run")) == 2  # pandas' default


def _float(cell):
    return float("nan") if cell == "–" else float(cell)


def _same(cell, number, places=3):
    """A formatted cell stands for ``number`` (NaN shown as a dash)."""
    if number != number:
        return cell == "–"
    return abs(_float(cell) - number) <= 0.5 * 10**-places


def test_every_results_cell_stands_for_its_number(result):
    t = tables.results_table(result)
    runs = result.runs[result.runs["stage"] == "grid"].set_index("run")
    for run, cells in t.iterrows():
        row = runs.loc[run]
        for column, name in [("lr", "lr"), ("mom.", "momentum"),
                             ("wd", "weight_decay")]:  # fmt: skip
            assert _same(cells[column], row[name], places=12), (run, column)
        assert _same(cells["train acc."], row["train_acc"]), run
        assert _same(cells["val. acc."], row["val_acc"]), run
        assert _same(cells["val. loss"], row["val_loss"]), run
        want = "–"
        if bool(row["checked"]):
            want = "yes" if bool(row["identical"]) else "NO"
        assert cells["SGD = manual"] == want, run


def test_a_run_that_differs_shows_NO_and_the_others_yes(result):
    runs = result.runs.copy()
    grid = runs["stage"] == "grid"
    checked = runs.index[grid & runs["checked"].astype(bool)]
    runs.loc[checked[1], "identical"] = False
    t = tables.results_table(dataclasses.replace(result, runs=runs))
    column = t["SGD = manual"]
    assert column[runs.loc[checked[1], "run"]] == "NO"
    assert (column[list(runs.loc[checked[[0, 2]], "run"])] == "yes").all()
    assert column["majority"] == "–"


def test_comparison_table_says_NO_when_one_epoch_differs(result):
    epochs = result.epochs.copy()
    runs = result.grid_runs()
    (run,) = runs.loc[
        (runs["lr"] == 0.01)
        & (runs["momentum"] == 0.0)
        & (runs["weight_decay"] == 0.01),
        "run",
    ]
    rows = epochs.index[epochs["run"] == run]
    epochs.loc[rows[0], "train_loss_manual"] += 1e-9  # the first only
    epochs.loc[rows[-1], "train_loss_manual"] = 0.123
    t = tables.comparison_table(dataclasses.replace(result, epochs=epochs))
    assert t.loc["6: weight decay", "same losses"] == "NO"
    assert t.loc["5: plain", "same losses"] == "yes"
    assert t.loc["6: weight decay", "loss manual"] == 0.123
    last_sgd = epochs.loc[rows[-1], "train_loss"]
    assert t.loc["6: weight decay", "loss SGD"] == last_sgd


def test_every_seed_table_cell_stands_for_its_numbers(result):
    t = tables.seed_table(result)
    mlp = result.runs[result.runs["model"] == "MyMLP"]
    best = result.selected_row()
    for config, cells in t.iterrows():
        protocol = cells["protocol"]
        runs = mlp[(mlp["config"] == config) & (mlp["protocol"] == protocol)]
        accs = runs["val_acc"]
        assert cells["seeds"] == len(runs)
        assert cells["lr"] == f"{runs['lr'].iloc[0]:g}"
        if runs["diverged"].any():
            assert cells["mean ± sd"] == "diverged"
            continue
        chosen = (config, protocol) == (best["config"], best["protocol"])
        assert cells["mean ± sd"].endswith(" *") == chosen
        mean, sd = (
            float(x) for x in cells["mean ± sd"].rstrip(" *").split(" ± ")
        )
        assert abs(mean - accs.mean()) <= 5e-4, (config, protocol)
        assert abs(sd - accs.std()) <= 5e-4, (config, protocol)
        lo, hi = (float(x) for x in cells["range"].split("–"))
        assert (lo, hi) == (round(accs.min(), 3), round(accs.max(), 3))
    # The fixture's seeds differ: a spread that is not zero is shown.
    assert any(" ± 0.000" not in v for v in t["mean ± sd"])


def test_selected_table_reports_the_course_seed_run(result):
    t = tables.selected_table(result)["value"]
    best = result.selected_row()
    assert int(best["seed"]) == result.config.seed
    assert t[f"model evaluated (seed {result.config.seed})"] == result.selected
    assert _same(t["accuracy, training split"], best["train_acc"])
    assert _same(t["accuracy, validation split"], best["val_acc"])
    assert _same(t["accuracy, test split"], result.test["accuracy"])
    runs = result.runs
    seeds = runs[
        (runs["config"] == best["config"])
        & (runs["protocol"] == best["protocol"])
    ]
    key = f"validation accuracy over {len(seeds)} seeds"
    mean, sd = (float(x) for x in t[key].split(" ± "))
    assert abs(mean - seeds["val_acc"].mean()) <= 5e-4
    assert abs(sd - seeds["val_acc"].std()) <= 5e-4


def test_test_table_cells_follow_the_confusion_matrix(result):
    t = tables.test_table(result)["value"]
    (tn, fp), (fn, tp) = result.test["confusion"]  # rows: true class
    n = tn + fp + fn + tp
    car, cat = result.meta["classes"]
    assert t["accuracy"] == (tn + tp) / n
    assert t[f"precision ({car})"] == tn / (tn + fn)
    assert t[f"recall ({car})"] == tn / (tn + fp)
    assert t[f"precision ({cat})"] == tp / (tp + fp)
    assert t[f"recall ({cat})"] == tp / (tp + fn)
    assert fp > 0 and fn > 0  # the fixture has mistakes both ways
