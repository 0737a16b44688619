"""byhand.search.results: saved results load only when they are exactly
what this search wrote.

Each kind of damage to a results folder makes `load` refuse it and
`run_search` warn and train again, instead of loading it silently (or
crashing later in the report).
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import warnings
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from synthetic import write_synthetic_cifar10

from byhand import data
from byhand.search import results
from byhand.search import run as search

pytestmark = pytest.mark.task8

CONFIG = dataclasses.replace(search.TINY, grid_lr=(0.05,))


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """One tiny search, saved once for the module: (splits, folder)."""
    tmp = tmp_path_factory.mktemp("saved")
    root = write_synthetic_cifar10(tmp / "cifar", 20, 5)
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.setenv("BYHAND_CACHE", str(tmp / "cache"))
        mp.setenv("BYHAND_WORKERS", "1")
        warnings.simplefilter("ignore")  # unofficial checksums
        torch.set_default_dtype(torch.float64)
        splits = data.cat_car_splits(root, val_fraction=0.2, download=False)
        folder = search.run_search(
            splits, CONFIG, results_dir=tmp / "r"
        ).folder
    return splits, folder


@pytest.fixture
def saved(original, tmp_path):
    """A fresh copy of the saved search, in its own results root."""
    splits, folder = original
    copy = tmp_path / "r" / folder.name
    shutil.copytree(folder, copy)
    return splits, copy


def _edit_json(name, edit):
    def damage(folder):
        path = folder / name
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))

    return damage


def _edit_csv(name, edit):
    def damage(folder):
        path = folder / name
        edit(pd.read_csv(path)).to_csv(path, index=False)

    return damage


def _truncate(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))


def _swap_model(folder):
    state = torch.load(folder / "model.pt", weights_only=True)
    name = next(iter(state))
    state[name] = state[name] + 1e-12  # another model of the same shape
    torch.save(state, folder / "model.pt")


def _set(key, value):
    return lambda d: {**d, key: value}


DAMAGE = {
    "model.pt missing": lambda f: (f / "model.pt").unlink(),
    "model.pt truncated": lambda f: (f / "model.pt").write_bytes(
        (f / "model.pt").read_bytes()[:100]
    ),
    "model.pt garbled": lambda f: (f / "model.pt").write_bytes(b"\0" * 500),
    "model.pt of another shape": lambda f: torch.save(
        {"layers.1.weight": torch.zeros(3, 3)}, f / "model.pt"
    ),
    "model.pt swapped for another model": _swap_model,
    "runs.csv cut short": lambda f: _truncate(f / "runs.csv"),
    "epochs.csv cut short": lambda f: _truncate(f / "epochs.csv"),
    "runs.csv with an edited number": _edit_csv(
        "runs.csv", lambda t: t.assign(val_acc=t["val_acc"] + 0.01)
    ),
    "runs.csv with a duplicated row": _edit_csv(
        "runs.csv", lambda t: pd.concat([t, t.iloc[:1]])
    ),
    "selected run not in runs.csv": _edit_json(
        "meta.json", _set("selected", "grid-99")
    ),
    "test.json garbled": lambda f: (f / "test.json").write_text("{"),
    "test.json with an edited number": _edit_json(
        "test.json", _set("accuracy", 1.0)
    ),
    "meta.json empty": lambda f: (f / "meta.json").write_text("{}"),
    "meta.json null": lambda f: (f / "meta.json").write_text("null"),
    "all_identical flipped": _edit_json(
        "meta.json", lambda m: {**m, "all_identical": not m["all_identical"]}
    ),
    "log edited": lambda f: (f / "gradient_descent_output.txt").write_text(
        "edited"
    ),
    "manifest missing": lambda f: (f / "manifest.json").unlink(),
    "manifest null": lambda f: (f / "manifest.json").write_text("null"),
    "manifest lists no files": _edit_json("manifest.json", _set("files", {})),
    "manifest of another key": _edit_json(
        "manifest.json", _set("key", "0123456789abcdef")
    ),
    "manifest of another configuration": _edit_json(
        "manifest.json", _set("config", {})
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_results_are_refused(saved, damage):
    _, folder = saved
    results.load(folder, CONFIG)  # whole before
    DAMAGE[damage](folder)
    with pytest.raises(results.ResultsError):
        results.load(folder, CONFIG)


@pytest.mark.parametrize("damage", ["meta.json null", "all_identical flipped"])
def test_damaged_results_are_retrained_with_a_warning(saved, damage):
    splits, folder = saved
    DAMAGE[damage](folder)
    with pytest.warns(UserWarning, match="fail a check"):
        again = search.run_search(splits, CONFIG, results_dir=folder.parent)
    assert not again.loaded_from_cache
    fine = results.load(folder, CONFIG)  # whole again
    assert fine.meta["all_identical"] and fine.selected in set(
        fine.runs["run"]
    )


def test_another_searchs_folder_is_refused(saved):
    _, folder = saved
    # The same files under another key, or read with another config.
    other = folder.with_name("search-0123456789abcdef")
    shutil.copytree(folder, other)
    with pytest.raises(results.ResultsError, match="another search"):
        results.load(other, CONFIG)
    with pytest.raises(results.ResultsError, match="another search"):
        results.load(folder, dataclasses.replace(CONFIG, n_epochs=2))


def test_intact_results_load_without_training(saved, monkeypatch):
    splits, folder = saved
    monkeypatch.setattr(search, "_search", lambda *a: 1 / 0)
    again = search.run_search(splits, CONFIG, results_dir=folder.parent)
    assert again.loaded_from_cache and again.folder == folder


def test_concurrent_searches_all_succeed(original, tmp_path):
    # Eight searches of one key at once: one trains, the others wait for
    # its lock and load what it saved.
    splits, _ = original
    out, errors = [], []

    def one():
        try:
            torch.set_default_dtype(torch.float64)
            out.append(
                search.run_search(splits, CONFIG, results_dir=tmp_path / "r")
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


def test_a_killed_writer_leaves_nothing_for_ever(saved):
    # What a run killed while saving leaves: its temporary folder, and
    # the old folder it was replacing.  A rerun that only loads cleans up.
    splits, folder = saved
    left = [folder.parent / f".{folder.name}.{t}.tmp" for t in ("x1", "old")]
    for partial in left:
        partial.mkdir()
        (partial / "runs.csv").write_text("run\n")
    again = search.run_search(splits, CONFIG, results_dir=folder.parent)
    assert again.loaded_from_cache
    assert [p for p in left if p.exists()] == []


def test_results_dir_may_be_a_string(original, tmp_path):
    splits, _ = original
    r = search.run_search(splits, CONFIG, results_dir=str(tmp_path / "s"))
    assert r.folder.parent == tmp_path / "s"


def test_an_unwritable_results_root_is_a_clear_error(original, tmp_path):
    splits, _ = original
    root = tmp_path / "a-file"
    root.write_text("not a folder")
    with pytest.raises(results.ResultsPathError, match="BYHAND_RESULTS"):
        search.run_search(splits, CONFIG, results_dir=root)
    assert issubclass(results.ResultsPathError, OSError)


SEARCH_IN_READ_ONLY = """
import dataclasses, sys, warnings, torch
from byhand import data
from byhand.search import results, run
torch.set_default_dtype(torch.float64)
warnings.simplefilter("ignore")
splits = data.cat_car_splits(sys.argv[1], val_fraction=0.2, download=False)
config = dataclasses.replace(run.TINY, grid_lr=(0.05,))
try:
    r = run.run_search(splits, config, results_dir=sys.argv[2])
    print("loaded" if r.loaded_from_cache else "trained")
except results.ResultsPathError as err:
    print("refused:", err)
"""


def _in_read_only(folder, *argv):
    """Run the script with ``folder`` read-only (root ignores modes: a
    read-only bind mount in a private mount namespace then)."""
    script = [sys.executable, "-c", SEARCH_IN_READ_ONLY, *map(str, argv)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if os.geteuid() != 0:
        folder.chmod(0o555)
        cmd = script
    elif shutil.which("unshare"):
        mount = f"mount --bind -o ro '{folder}' '{folder}'"
        cmd = ["unshare", "-m", "sh", "-c", f'{mount} && exec "$@"', "-"]
        cmd += script
    else:
        pytest.skip("root without unshare: no read-only folder to test")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        folder.chmod(0o755)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_valid_results_in_a_read_only_folder_still_load(
    tiny_splits, cifar_root, tmp_path
):
    root = tmp_path / "r"
    folder = search.run_search(tiny_splits, CONFIG, results_dir=root).folder
    (root / f".{folder.name}.lock").unlink()  # as if copied elsewhere
    assert _in_read_only(root, cifar_root, root).strip() == "loaded"
    shutil.rmtree(folder)  # nothing to load: training would be futile
    out = _in_read_only(root, cifar_root, root)
    assert out.startswith("refused:") and "BYHAND_RESULTS" in out


def test_the_key_changes_with_all_that_changes_the_results(tmp_path):
    # Same key, same folder: the data's checksum, the split's seed, the
    # configuration and the dtype each give other results.
    def key(config=CONFIG, dtype=torch.float64, **split):
        splits = SimpleNamespace(**{"checksum": "abc", "seed": 42, **split})
        old = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            return results.search_folder(tmp_path, config, splits).name
        finally:
            torch.set_default_dtype(old)

    base = key()
    assert key() == base
    others = [
        key(seed=43),
        key(checksum="abd"),
        key(dataclasses.replace(CONFIG, n_epochs=CONFIG.n_epochs + 1)),
        key(dtype=torch.float32),
    ]
    assert base not in others and len(set(others)) == len(others)
