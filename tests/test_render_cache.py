"""The pre-render step empties the chapters' execution cache exactly when
something their outputs depend on changed."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from byhand.cifar import FOLDER
from byhand.render import pre


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with a package file, data, a data cache and results."""
    root = tmp_path / "project"
    (root / "src" / "byhand").mkdir(parents=True)
    (root / "src" / "byhand" / "network.py").write_text("x = 1\n")
    (tmp_path / "cifar" / FOLDER).mkdir(parents=True)
    (tmp_path / "cifar" / FOLDER / "data_batch_1").write_bytes(b"images")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "cat_car.pt").write_bytes(b"small")
    (tmp_path / "results" / "search-1").mkdir(parents=True)
    (tmp_path / "results" / "search-1" / "runs.csv").write_text("run\n")
    monkeypatch.setenv("CIFAR10_ROOT", str(tmp_path / "cifar"))
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BYHAND_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("BYHAND_SEARCH", raising=False)
    monkeypatch.delenv("JUPYTERCACHE", raising=False)
    return root


def refresh(project: Path) -> bool:
    return pre.refresh_cache(project, project / "src" / "byhand")


def fill_cache(project: Path) -> Path:
    """Stand-in for what jupyter-cache keeps."""
    cache = project / "chapters" / ".jupyter_cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "global.db").write_bytes(b"notebooks")
    return cache


def test_kept_when_nothing_changed(project):
    assert not refresh(project)  # no record yet: emptied
    cache = fill_cache(project)
    assert refresh(project)
    assert refresh(project)
    assert (cache / "global.db").read_bytes() == b"notebooks"


def _edit_source(project, tmp_path, monkeypatch):
    (project / "src" / "byhand" / "network.py").write_text("x = 2\n")


def _new_source_file(project, tmp_path, monkeypatch):
    (project / "src" / "byhand" / "extra.py").write_text("")


def _new_results(project, tmp_path, monkeypatch):
    (tmp_path / "results" / "search-2").mkdir()
    (tmp_path / "results" / "search-2" / "runs.csv").write_text("run\n")


def _rewritten_results(project, tmp_path, monkeypatch):
    path = tmp_path / "results" / "search-1" / "runs.csv"
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))


def _data_cache(project, tmp_path, monkeypatch):
    (tmp_path / "cache" / "cat_car.pt").write_bytes(b"smaller")


def _dataset(project, tmp_path, monkeypatch):
    (tmp_path / "cifar" / FOLDER / "data_batch_1").write_bytes(b"IMAGES")


def _setting(project, tmp_path, monkeypatch):
    monkeypatch.setenv("BYHAND_SEARCH", "tiny")


def _threads(project, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _other_results_folder(project, tmp_path, monkeypatch):
    monkeypatch.setenv("BYHAND_RESULTS", str(tmp_path / "elsewhere"))


def _package_version(project, tmp_path, monkeypatch):
    real = list(importlib.metadata.distributions())
    upgraded = SimpleNamespace(metadata={"Name": "torch"}, version="99.0")
    monkeypatch.setattr(
        importlib.metadata, "distributions", lambda: [*real, upgraded]
    )


def _record_lost(project, tmp_path, monkeypatch):
    (project / pre.INPUTS).unlink()


@pytest.mark.parametrize(
    "change",
    [
        _edit_source, _new_source_file, _new_results, _rewritten_results,
        _data_cache, _dataset, _setting, _threads, _other_results_folder,
        _package_version, _record_lost,
    ],
)  # fmt: skip
def test_emptied_when_an_input_changed(project, tmp_path, monkeypatch, change):
    refresh(project)
    cache = fill_cache(project)
    change(project, tmp_path, monkeypatch)
    assert not refresh(project)
    assert not cache.exists()
    # The new inputs are recorded: the next render may use the cache.
    fill_cache(project)
    assert refresh(project)


def test_a_search_lock_is_not_an_input(project, tmp_path):
    refresh(project)
    cache = fill_cache(project)
    (tmp_path / "results" / ".search-1.lock").touch()
    assert refresh(project)
    assert cache.exists()


def test_follows_jupytercache(project, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERCACHE", str(tmp_path / "jc"))
    refresh(project)
    (tmp_path / "jc").mkdir()
    monkeypatch.setenv("BYHAND_SEARCH", "tiny")
    refresh(project)
    assert not (tmp_path / "jc").exists()


def test_the_package_is_the_one_in_use():
    import byhand

    assert Path(byhand.__file__).resolve().parent == pre.PACKAGE


def test_a_linked_results_folder_is_read_through(project, tmp_path):
    # A search's folder shared by several clones, linked into results/:
    # a new search there, or the link gone, is a change like any other.
    shared = tmp_path / "shared" / "search-9"
    shared.mkdir(parents=True)
    (shared / "test.json").write_text('{"accuracy": 0.9}')
    (tmp_path / "results" / "search-9").symlink_to(shared)
    (tmp_path / "results" / "dangling").symlink_to(tmp_path / "nowhere")
    refresh(project)
    cache = fill_cache(project)
    assert refresh(project)
    (shared / "test.json").write_text('{"accuracy": 0.7}')
    assert not refresh(project)
    assert not cache.exists()
    fill_cache(project)
    (tmp_path / "results" / "search-9").unlink()
    assert not refresh(project)
