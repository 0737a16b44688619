"""Every verdict of the bitwise claim, seen failing.

A search in which torch.optim.SGD is nudged for the weight-decay
configurations only: the manual update then differs there and agrees
elsewhere.  Each summary of the claim must say so: the runs, the
search's `all_identical`, the tables' yes/NO columns and the course
log's two blocks.  Also: the parts of the search's time against its sum.
"""

import dataclasses
import math

import pytest
import torch
from logparse import parse_log
from torch.utils.data import DataLoader

from byhand import MyMLP, data
from byhand.report import tables
from byhand.search import results
from byhand.search import run as search
from byhand.search.pair import train_pair
from byhand.training import train_manual_update

pytestmark = [pytest.mark.task5, pytest.mark.task6, pytest.mark.task7]

CONFIG = dataclasses.replace(search.TINY, probes=())


class NudgedSGD(torch.optim.SGD):
    """torch.optim.SGD that, with weight decay, also moves the first
    parameter by a visible amount after each step: a planted bug."""

    def step(self, closure=None):
        loss = super().step(closure)
        group = self.param_groups[0]
        if group["weight_decay"] > 0:
            with torch.no_grad():
                group["params"][0].add_(1e-2)
        return loss


@pytest.fixture
def nudged(tiny_splits, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.optim, "SGD", NudgedSGD)
    return search.run_search(tiny_splits, CONFIG, results_dir=tmp_path)


def _with_decay(runs):
    checked = runs["checked"].astype(bool) & (runs["model"] == "MyMLP")
    decay = runs["weight_decay"] > 0
    return runs[checked & decay], runs[checked & ~decay]


def test_the_runs_and_all_identical_say_which_differ(nudged):
    bad, good = _with_decay(nudged.runs)
    assert len(bad) and len(good)
    assert not bad["identical"].astype(bool).any()
    assert (bad["max_abs_diff"] > 0).all()
    assert good["identical"].astype(bool).all()
    assert (good["max_abs_diff"] == 0).all()
    assert nudged.meta["all_identical"] is False
    loaded = results.load(nudged.folder, CONFIG)
    assert loaded.meta["all_identical"] is False
    assert not loaded.runs.set_index("run").loc[bad["run"], "identical"].any()


def test_the_tables_say_NO_where_they_differ(nudged):
    bad, good = _with_decay(nudged.runs)
    t = tables.results_table(nudged)
    assert (
        t.loc[bad[bad["stage"] == "grid"]["run"], "SGD = manual"] == "NO"
    ).all()
    assert (
        t.loc[good[good["stage"] == "grid"]["run"], "SGD = manual"] == "yes"
    ).all()
    c = tables.comparison_table(nudged)
    assert c.loc["6: weight decay", "same losses"] == "NO"
    assert c.loc["5: plain", "same losses"] == "yes"
    assert c.loc["6: weight decay", "max diff."] > 0


def test_the_course_log_prints_each_trainers_own_losses(nudged):
    runs = nudged.runs
    course = runs[(runs["source"] == "course") & (runs["stage"] == "grid")]
    configs = parse_log(nudged.log)
    assert len(configs) == len(course)
    for cfg, (_, row) in zip(configs, course.iterrows(), strict=True):
        ep = nudged.epochs[nudged.epochs["run"] == row["run"]]
        for block, column in (("sgd", "train_loss"),
                              ("manual", "train_loss_manual")):  # fmt: skip
            want = dict(zip(ep["epoch"], ep[column], strict=True))
            for epoch, value in cfg[block]["losses"].items():
                assert value == round(want[epoch], 5), (row["run"], block)
        differs = cfg["sgd"]["losses"] != cfg["manual"]["losses"]
        assert differs == (row["weight_decay"] > 0)


def test_the_parts_of_the_time_fit_in_the_total(nudged):
    runs = nudged.runs
    trained = runs[runs["epochs_run"] > 0]
    assert (trained["seconds_sgd"] > 0).all()
    checked = trained[trained["checked"].astype(bool)]
    assert (checked["seconds_manual"] > 0).all()
    parts = trained["seconds_sgd"].sum() + checked["seconds_manual"].sum()
    assert nudged.meta["workers"] == 1  # one process: parts add up
    assert parts < nudged.meta["seconds_total"]
    unchecked = trained[~trained["checked"].astype(bool)]
    assert all(math.isnan(s) for s in unchecked["seconds_manual"])


def test_a_pair_whose_losses_differ_is_not_identical(tiny_splits):
    # Parameters equal, one reported loss off by 1e-12: still a failure.
    def misreports(*args, **kwargs):
        history = train_manual_update(*args, **kwargs)
        history.losses[-1] += 1e-12
        return history

    def run(manual_trainer):
        return train_pair(
            lambda: MyMLP(hidden=CONFIG.hidden),
            data.dataloaders(tiny_splits, CONFIG.batch_size),
            lr=0.05, momentum=0.9, weight_decay=0.0, n_epochs=2,
            seed=CONFIG.seed, manual_trainer=manual_trainer,
        )  # fmt: skip

    assert run(train_manual_update).identical
    bad = run(misreports)
    assert bad.max_abs_diff == 0.0 and not bad.identical


def test_no_loader_of_the_search_shuffles(tiny_splits, tmp_path, monkeypatch):
    # Section 3.3: "Set shuffle to False when creating dataloaders".
    seen = []
    real = DataLoader.__init__

    def spy(self, dataset, *args, **kwargs):
        seen.append((len(dataset), kwargs.get("shuffle", False)))
        real(self, dataset, *args, **kwargs)

    monkeypatch.setattr(DataLoader, "__init__", spy)
    search.run_search(tiny_splits, CONFIG, results_dir=tmp_path)
    sizes = {len(tiny_splits.train), len(tiny_splits.val)}
    assert sizes | {len(tiny_splits.test)} <= {n for n, _ in seen}
    assert not any(shuffle for _, shuffle in seen)
