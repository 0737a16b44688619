"""byhand.search on the shared `hard` search (conftest), where the answer
is not trivial.

The classes overlap enough that configurations reach different validation
accuracies, training and validation accuracies differ, and an untrained
model scores visibly worse than a trained one on the test split.
"""

import dataclasses
import math
import os
import warnings

import pandas as pd
import pytest
import torch
from logparse import parse_log
from torch.utils.data import DataLoader

from byhand import MyMLP, data
from byhand.search import jobs, selection
from byhand.search import run as ex
from byhand.search.evaluation import evaluate, evaluate_test
from byhand.search.jobs import Job, Setting, run_job
from byhand.search.logformat import logged_epochs

pytestmark = pytest.mark.task8

# The tiny profile with three kinds of learning rate: one that trains
# (0.05), one too small to move the weights in 3 epochs (1e-4), and a
# probe that overflows to NaN at once (1e200).
CONFIG = dataclasses.replace(
    ex.TINY, grid_lr=(0.05, 1e-4), probes=((1e200, 0.9, 0.0),)
)


@pytest.fixture
def searched(hard):
    """The shared hard search (conftest): result, splits, folder."""
    assert hard.config == CONFIG
    return hard.result, hard.splits, hard.folder


def _saved_model(result):
    """The selected model as saved in model.pt."""
    model = MyMLP(hidden=CONFIG.hidden)
    state = torch.load(result.folder / "model.pt", weights_only=True)
    model.load_state_dict(state)
    return model.to(result.meta["device"])


def _loader(ds):
    return DataLoader(ds, batch_size=CONFIG.batch_size, shuffle=False)


def test_the_fixture_is_not_trivial(searched):
    result, _, _ = searched
    mlp = result.runs[
        (result.runs["model"] == "MyMLP") & ~result.runs["diverged"]
    ]
    assert mlp["val_acc"].nunique() >= 3
    assert (mlp["val_acc"] != mlp["train_acc"]).any()


def test_records_are_complete(searched):
    result, _, _ = searched
    runs = result.runs
    grid = runs[runs["stage"] == "grid"]
    # Every configuration once, + linear and majority baselines.
    assert len(grid) == len(CONFIG.settings()) + 2
    assert set(grid["source"]) == {"course", "grid", "probe", "baseline"}
    assert (grid["seed"].dropna() == CONFIG.seed).all()
    # The n_top best go on with every extra seed; the best n_flip with
    # every seed flipped; the best n_shift with every seed shifted, at
    # each of its learning rates (a new configuration per rate).
    top = selection.top_configs(grid, CONFIG.n_top)
    assert len(top) == CONFIG.n_top
    seeds = runs[runs["stage"] == "seeds"]
    assert sorted(seeds["config"]) == sorted(top * len(CONFIG.extra_seeds))
    flips = runs[runs["stage"] == "flip"]
    flipped = top[: CONFIG.n_flip]
    assert sorted(flips["config"]) == sorted(flipped * len(CONFIG.seeds))
    assert (flips["protocol"] == "flip").all()
    shifts = runs[runs["stage"] == "shift"]
    assert (shifts["protocol"] == "shift").all()
    base = grid.set_index("config").loc[top[0]]
    by_lr = shifts.groupby("lr")
    assert sorted(by_lr.groups) == sorted(
        base["lr"] * s for s in CONFIG.shift_lr_scale
    )
    for _, group in by_lr:
        assert sorted(group["seed"]) == sorted(CONFIG.seeds)
        assert (group["momentum"] == base["momentum"]).all()
        assert (group["weight_decay"] == base["weight_decay"]).all()
        assert group["config"].nunique() == 1
    assert shifts["config"].nunique() == len(CONFIG.shift_lr_scale)
    assert set(runs.loc[runs["stage"] == "seeds", "protocol"]) == {"plain"}
    assert set(grid["protocol"]) == {"plain"}
    trained = runs[~runs["diverged"] & (runs["model"] != "majority class")]
    assert (trained["epochs_run"] == CONFIG.n_epochs).all()
    per_run = result.epochs.groupby("run").size()
    assert (per_run[trained["run"]] == CONFIG.n_epochs).all()
    assert result.runs["run"].is_unique


def test_both_trainers_run_where_the_claim_says(searched):
    # The bitwise claim covers every run from the course's seed, on every
    # protocol; other seeds train with torch.optim.SGD only.
    result, _, _ = searched
    runs = result.runs[result.runs["model"] != "majority class"]
    course_seed = runs["seed"] == CONFIG.seed
    assert runs["checked"].astype(bool).equals(course_seed)
    checked = runs[course_seed]
    assert checked["identical"].astype(bool).all()
    assert (checked["max_abs_diff"] == 0).all()
    flip = checked[checked["protocol"] == "flip"]
    assert len(flip) == CONFIG.n_flip  # identical under the flip protocol
    shift = checked[checked["protocol"] == "shift"]
    assert len(shift) == CONFIG.n_shift * len(CONFIG.shift_lr_scale)
    ep = result.epochs[result.epochs["run"].isin(checked["run"])]
    assert ep["train_loss"].equals(ep["train_loss_manual"])
    assert result.meta["all_identical"]


def test_diverging_configuration_is_recorded_not_fatal(searched):
    result, _, _ = searched
    runs = result.runs.set_index("run")
    diverged = runs[runs["diverged"] & (runs["stage"] == "grid")]
    assert len(diverged) == 1 and diverged["lr"].iloc[0] == 1e200
    assert math.isnan(diverged["val_acc"].iloc[0])


def _setting(splits):
    return Setting(splits.train, splits.val, CONFIG)


def _job(protocol, seed=CONFIG.seed, lr=0.05):
    return Job(run="j", config="j", protocol=protocol, source="grid",
               lr=lr, momentum=0.9, seed=seed, check=True)  # fmt: skip


def test_validation_accuracy_is_measured_on_the_validation_split(searched):
    result, splits, _ = searched
    runs = result.runs.set_index("run")
    last = result.epochs.groupby("run").last()
    for run, row in runs[runs["epochs_run"] > 0].iterrows():
        if not row["diverged"]:
            assert row["val_acc"] == last.loc[run, "val_acc"]
    # The saved model, evaluated again on the validation split.
    model = _saved_model(result)
    again = evaluate(model, _loader(splits.val))
    assert again["accuracy"] == result.selected_row()["val_acc"]
    assert again["loss"] == result.selected_row()["val_loss"]


@pytest.mark.task9
def test_selection_is_the_best_mean_over_seeds(searched):
    result, _, _ = searched
    runs = result.runs
    stats = selection.seed_stats(runs)
    full = stats[(stats["n"] == len(CONFIG.seeds)) & ~stats["diverged"]]
    chosen = result.selected_row()
    assert stats.loc[(chosen["config"], chosen["protocol"]), "mean"] == (
        full["mean"].max()
    )
    assert chosen["seed"] == CONFIG.seed and runs["selected"].sum() == 1


@pytest.mark.task10
def test_test_set_is_read_once_by_the_selected_model(searched, hard):
    result, splits, _ = searched
    assert hard.test_reads == len(splits.test)
    assert result.test["n"] == len(splits.test)
    # The saved model is the selected configuration's, trained again...
    row = result.selected_row()
    job = dataclasses.replace(
        _job(row["protocol"], lr=row["lr"]),
        momentum=row["momentum"],
        weight_decay=row["weight_decay"],
    )
    # On the device the search used (CUDA when present): floats differ
    # between devices.
    again = run_job(job, _setting(splits), result.meta["device"])
    model = _saved_model(result)
    for k, v in model.state_dict().items():
        assert torch.equal(v.cpu(), again.state_dict[k]), k
    # ... and the test metrics are that model's, not an untrained one's.
    test_loader = _loader(splits.test)
    assert evaluate_test(model, test_loader, splits.classes) == result.test
    torch.manual_seed(CONFIG.seed)
    untrained = MyMLP(hidden=CONFIG.hidden)
    other = evaluate_test(untrained, test_loader, splits.classes)
    assert other["accuracy"] != result.test["accuracy"]


@pytest.mark.task10
def test_test_evaluation_is_consistent(searched):
    result, _, _ = searched
    t = result.test
    cm = torch.tensor(t["confusion"])
    assert cm.sum() == t["n"]
    assert t["accuracy"] == pytest.approx(cm.trace().item() / t["n"])
    lo, hi = t["ci95"]
    assert 0 <= lo <= t["accuracy"] <= hi <= 1
    assert len(t["misclassified"]) == t["n"] - cm.trace().item()
    assert t["accuracy"] > 0.6  # the selected model learned something


def json_round_trip(obj):
    import json

    return json.loads(json.dumps(obj))


def test_second_call_loads_and_changed_config_retrains(searched, monkeypatch):
    result, splits, folder = searched
    calls = []
    real = jobs.run_job
    monkeypatch.setattr(
        jobs, "run_job", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    again = ex.run_search(splits, CONFIG, results_dir=folder)
    assert again.loaded_from_cache and not calls
    # What was saved reads back as what was computed, float for float.
    assert not result.loaded_from_cache
    pd.testing.assert_frame_equal(again.runs, result.runs)
    pd.testing.assert_frame_equal(again.epochs, result.epochs)
    assert again.test == json_round_trip(result.test)
    assert again.meta == json_round_trip(result.meta)
    changed = dataclasses.replace(CONFIG, n_epochs=2)
    fresh = ex.run_search(splits, changed, results_dir=folder)
    assert not fresh.loaded_from_cache and calls
    assert fresh.folder != result.folder


def test_written_log_parses_back_to_the_recorded_losses(searched):
    result, _, _ = searched
    configs = parse_log(result.log)
    runs = result.runs
    course = runs[(runs["source"] == "course") & (runs["stage"] == "grid")]
    assert len(configs) == len(course)
    for cfg, (_, row) in zip(configs, course.iterrows(), strict=True):
        assert (cfg["lr"], cfg["mom"], cfg["decay"]) == (
            row["lr"],
            row["momentum"],
            row["weight_decay"],
        )
        ep = result.epochs[result.epochs["run"] == row["run"]]
        losses = dict(zip(ep["epoch"], ep["train_loss"], strict=True))
        for block in ("sgd", "manual"):
            logged = cfg[block]["losses"]
            assert list(logged) == logged_epochs(CONFIG.n_epochs)
            for epoch, value in logged.items():
                assert value == round(losses[epoch], 5)
            assert cfg[block]["val_acc"] == round(row["val_acc"], 2)
        assert cfg["sgd"]["losses"] == cfg["manual"]["losses"]


@pytest.mark.slow
def test_default_search_on_real_data_agrees_bit_for_bit(
    tmp_path, real_cifar10_root
):
    root = real_cifar10_root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        splits = data.cat_car_splits(root, download=False)
    result = ex.run_search(
        splits, results_dir=tmp_path, progress=False, workers=os.cpu_count()
    )
    runs = result.runs
    checked = runs[runs["checked"].astype(bool)]
    # The course's settings, the baseline, the best grid configurations,
    # and every course-seed run of the flip and shift protocols (a
    # configuration's runs at the other seeds are SGD only).
    config = ex.SearchConfig()
    top = selection.top_configs(runs, config.n_top)
    grid = runs["stage"] == "grid"
    must = (grid & (runs["source"] == "course")) | (runs["model"] != "MyMLP")
    must |= grid & runs["config"].isin(top)
    must |= (runs["stage"] != "grid") & (runs["seed"] == config.seed)
    must &= runs["model"] != "majority class"
    assert set(checked["run"]) == set(runs.loc[must, "run"])
    assert {"plain", "flip", "shift"} == set(checked["protocol"])
    assert checked["identical"].astype(bool).all()
    assert checked["max_abs_diff"].max() == 0.0
    assert result.meta["all_identical"]


def test_the_shift_protocol_trains_for_its_own_epochs(tiny_splits, tmp_path):
    config = dataclasses.replace(
        ex.TINY, n_top=1, shift_lr_scale=(1.0,), shift_epochs=2,
        probes=(), course=ex.TINY.course[:1], extra_seeds=(266,),
    )  # fmt: skip
    result = ex.run_search(
        tiny_splits, config, results_dir=tmp_path, progress=False
    )
    runs = result.runs[result.runs["model"] == "MyMLP"]
    shift = runs["protocol"] == "shift"
    assert shift.sum() == 2
    assert (runs.loc[shift, "epochs_run"] == 2).all()
    assert (runs.loc[~shift, "epochs_run"] == config.n_epochs).all()
    assert result.runs.loc[shift[shift].index, "identical"].any()


def test_a_grid_left_to_sgd_still_checks_every_candidate(
    tiny_splits, tmp_path
):
    config = dataclasses.replace(ex.TINY, check_whole_grid=False)
    result = ex.run_search(
        tiny_splits, config, results_dir=tmp_path, progress=False
    )
    runs = result.runs.set_index("run")
    grid = runs[(runs["stage"] == "grid") & (runs["model"] == "MyMLP")]
    top = selection.top_configs(result.runs, config.n_top)
    for run, row in grid.iterrows():
        must = row["source"] == "course" or row["config"] in top
        assert bool(row["checked"]) == must, run
    # Every candidate of the selection has its course-seed run checked,
    # so the selected model is one both trainers agree on.
    selected = runs.loc[result.selected]
    assert selected["checked"] and selected["identical"]
    assert result.meta["all_identical"]
