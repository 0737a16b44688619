"""byhand.search.results: saved searches are checked before trusted.

Each kind of damage to a results folder makes `run_search` warn and
train again, instead of "loading" it and failing later in the report.
"""

import dataclasses
import json
import shutil
import threading
import warnings

import pandas as pd
import pytest
import torch

from byhand import data
from byhand.search import results
from byhand.search import run as search
from byhand.testing import write_synthetic_cifar10

pytestmark = pytest.mark.task8

CONFIG = dataclasses.replace(search.TINY, grid_lr=(0.05,))


@pytest.fixture(scope="module")
def searched_once(tmp_path_factory):
    """One search of the synthetic CIFAR-10 that `tiny_splits` reads."""
    tmp = tmp_path_factory.mktemp("results")
    root = write_synthetic_cifar10(tmp / "cifar", 20, 5)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unofficial checksums
            splits = data.cat_car_splits(
                root, val_fraction=0.2, download=False, cache=tmp / "cache"
            )
        return search.run_search(splits, CONFIG, results_dir=tmp / "r")
    finally:
        torch.set_default_dtype(old)


@pytest.fixture
def saved(searched_once, tiny_splits, tmp_path):
    """A copy of that search's folder, where `run_search` looks for it."""
    folder = tmp_path / "r" / searched_once.folder.name
    shutil.copytree(searched_once.folder, folder)
    return tiny_splits, folder


def _truncate(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))


def _select(folder, run):
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "selected": run}))


def _edit_csv(path, change):
    table = pd.read_csv(path)
    change(table).to_csv(path, index=False)


def _one_run_fewer(table):
    gone = table[~table["selected"].astype(bool)]["run"].iloc[0]
    return table[table["run"] != gone]


def _one_epoch_fewer(table):
    return table.drop(index=table.index[-1])


def _nobody_selected(table):
    return table.assign(selected=False)


def _edit_json(path, change):
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _one_tensor_fewer(path):
    state = torch.load(path, weights_only=True)
    state.pop(sorted(state)[-1])
    torch.save(state, path)


DAMAGE = {
    "model.pt missing": lambda f: (f / "model.pt").unlink(),
    "model.pt truncated": lambda f: (f / "model.pt").write_bytes(
        (f / "model.pt").read_bytes()[:100]
    ),
    "model.pt garbled": lambda f: (f / "model.pt").write_bytes(b"\0" * 500),
    "model.pt of another shape": lambda f: torch.save(
        {"layers.1.weight": torch.zeros(3, 3)}, f / "model.pt"
    ),
    "runs.csv cut short": lambda f: _truncate(f / "runs.csv"),
    "epochs.csv cut short": lambda f: _truncate(f / "epochs.csv"),
    "selected run not in runs.csv": lambda f: _select(f, "grid-99"),
    "test.json garbled": lambda f: (f / "test.json").write_text("{"),
    "meta.json empty": lambda f: (f / "meta.json").write_text("{}"),
    "runs.csv lacks one run": lambda f: _edit_csv(
        f / "runs.csv", _one_run_fewer
    ),
    "epochs.csv lacks one epoch": lambda f: _edit_csv(
        f / "epochs.csv", _one_epoch_fewer
    ),
    "runs.csv marks no run selected": lambda f: _edit_csv(
        f / "runs.csv", _nobody_selected
    ),
    "test.json lacks the confusion matrix": lambda f: _edit_json(
        f / "test.json",
        lambda t: {k: v for k, v in t.items() if k != "confusion"},
    ),
    "model.pt lacks a tensor": lambda f: _one_tensor_fewer(f / "model.pt"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_results_are_retrained(saved, tmp_path, damage):
    tiny_splits, folder = saved
    DAMAGE[damage](folder)
    with pytest.raises(results.ResultsError):
        results.load(folder, CONFIG)
    with pytest.warns(UserWarning, match="fail a check"):
        again = search.run_search(
            tiny_splits, CONFIG, results_dir=tmp_path / "r"
        )
    assert not again.loaded_from_cache
    fine = results.load(folder, CONFIG)  # whole again
    assert fine.selected in set(fine.runs["run"])


def test_intact_results_load_without_training(saved, tmp_path, monkeypatch):
    tiny_splits, folder = saved
    monkeypatch.setattr(search, "_search", lambda *a: 1 / 0)
    again = search.run_search(tiny_splits, CONFIG, results_dir=tmp_path / "r")
    assert again.loaded_from_cache and again.folder == folder


def test_concurrent_searches_all_succeed(tiny_splits, tmp_path):
    # Eight searches of one key at once: one trains, the others wait for
    # its lock and load what it saved.
    out, errors = [], []

    def one():
        try:
            torch.set_default_dtype(torch.float64)
            out.append(
                search.run_search(
                    tiny_splits, CONFIG, results_dir=tmp_path / "r"
                )
            )
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(not r.loaded_from_cache for r in out) == 1
    for r in out:
        pd.testing.assert_frame_equal(r.runs, out[0].runs)
    hidden = [p.name for p in (tmp_path / "r").iterdir() if p.is_dir()]
    assert [h for h in hidden if h.startswith(".")] == []


def test_a_killed_writer_leaves_nothing_for_ever(saved, tmp_path):
    tiny_splits, folder = saved
    partial = folder.parent / f".{folder.name}.abc123"
    partial.mkdir()
    (partial / "runs.csv").write_text("run\n")
    search.run_search(
        tiny_splits, CONFIG, results_dir=tmp_path / "r", force=True
    )
    assert not partial.exists()


def test_results_dir_may_be_a_string(tiny_splits, tmp_path):
    r = search.run_search(tiny_splits, CONFIG, results_dir=str(tmp_path / "s"))
    assert r.folder.parent == tmp_path / "s"
