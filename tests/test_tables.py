"""byhand.tables: what the report shows, from a small search."""

import dataclasses
import warnings

import pytest
import torch

from byhand import data, search, tables
from byhand.testing import write_synthetic_cifar10

CONFIG = dataclasses.replace(search.TINY, grid_lr=(0.05, 1e200))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tables")
    root = write_synthetic_cifar10(tmp / "c", 20, 5)
    torch.set_default_dtype(torch.float64)  # module scope: set it here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        splits = data.cat_car_splits(
            root, val_fraction=0.2, download=False, cache=tmp / "cache"
        )
    return search.run_search(splits, CONFIG, results_dir=tmp / "r")


def test_results_table_has_every_run_and_marks_the_selected(result):
    t = tables.results_table(result)
    assert list(t.index) == list(result.runs["run"])
    assert (t["status"] == "SELECTED").sum() == 1
    assert t.loc[result.selected, "status"] == "SELECTED"
    assert "diverged" in set(t["status"])
    assert t.loc["majority", "lr"] == "–"
    row = result.runs.set_index("run").loc[result.selected]
    assert t.loc[result.selected, "val. acc."] == f"{row.val_acc:.3f}"
    assert t.shape[1] <= 8  # fits a PDF page


def test_comparison_table_reads_the_epochs(result):
    t = tables.comparison_table(result)
    assert list(t.index) == ["5: plain", "6: weight decay"]
    runs = result.runs.set_index(["momentum", "weight_decay"])
    ep = result.epochs
    run = runs.loc[(0.0, 0.01), "run"]
    last = ep[ep["run"] == run]["train_loss_manual"].iloc[-1]
    assert t.loc["6: weight decay", "loss manual"] == last
    assert (t["same losses"] == "yes").all()


def test_test_and_confusion_tables(result):
    t = tables.test_table(result)
    assert t.loc["accuracy", "value"] == result.test["accuracy"]
    cm = tables.confusion_table(result)
    assert (
        cm.loc["true cat", "predicted car"] == result.test["confusion"][1][0]
    )


def test_selected_table(result):
    t = tables.selected_table(result)
    assert t.loc["configuration", "value"] == result.selected
    lo, hi = result.test["ci95"]
    assert t.loc["95 % CI, test accuracy", "value"] == f"[{lo:.3f}, {hi:.3f}]"
