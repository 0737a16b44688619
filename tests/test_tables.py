"""byhand.report.tables: what the report shows, from a small search."""

import pytest
import torch

from byhand import training
from byhand.report import tables


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


def test_test_and_confusion_tables(result):
    t = tables.test_table(result)
    assert t.loc["accuracy", "value"] == result.test["accuracy"]
    cm = tables.confusion_table(result)
    assert (
        cm.loc["true cat", "predicted car"] == result.test["confusion"][1][0]
    )


def test_seed_table_has_both_protocols(result):
    t = tables.seed_table(result)
    runs = result.runs
    top = runs.loc[runs["stage"] == "seeds", "config"].unique()
    assert sorted(t.index) == sorted(top)
    config = t.index[0]
    accs = runs[(runs["config"] == config) & (runs["protocol"] == "flip")]
    mean, sd = accs["val_acc"].mean(), accs["val_acc"].std()
    assert t.loc[config, "flip: mean ± sd"].startswith(
        f"{mean:.3f} ± {sd:.3f}"
    )
    assert sum("*" in v for v in t.to_numpy().ravel()) == 1


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
