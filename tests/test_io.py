"""byhand._io: writes land whole, with ordinary permissions."""

import os
import stat
from pathlib import Path

import pytest

from byhand._io import atomic_dir, atomic_write, atomic_write_text


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "folder"
    atomic_dir(target, lambda tmp: (tmp / "a").write_text("1"))

    def fail(tmp):
        (tmp / "b").write_text("2")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_dir(target, fail)
    assert [p.name for p in target.iterdir()] == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_modes_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        atomic_dir(tmp_path / "d", lambda tmp: None)
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "f.txt").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask


def test_a_rerun_removes_what_a_killed_writer_left(tmp_path):
    # A killed writer's temporaries: a file and a folder.
    (tmp_path / ".log.txt.k1ll3d.tmp").write_text("half a log")
    (tmp_path / ".d.k1ll3d.tmp").mkdir()
    (tmp_path / ".d.k1ll3d.tmp" / "a").write_text("half a folder")
    atomic_write_text(tmp_path / "log.txt", "whole")
    atomic_dir(tmp_path / "d", lambda tmp: (tmp / "a").write_text("whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "log.txt"]


def test_a_live_writers_temporary_is_kept(tmp_path):
    target = tmp_path / "log.txt"

    def first(tmp):
        tmp.write_text("first")
        atomic_write_text(target, "second")  # another writer, meanwhile
        assert tmp.read_text() == "first"

    atomic_write(target, first)
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


def test_relative_settings_are_the_projects_under_quarto(
    tmp_path, monkeypatch
):
    # Quarto runs the chapters' kernels in chapters/: a relative folder
    # set where the render was started means the project's.
    from byhand._io import cache_dir, resolve_root, results_root

    monkeypatch.setenv("BYHAND_RESULTS", "saved")
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CIFAR10_ROOT", "~/cifar")
    monkeypatch.delenv("QUARTO_PROJECT_DIR", raising=False)
    assert results_root() == Path("saved")
    monkeypatch.setenv("QUARTO_PROJECT_DIR", str(tmp_path / "project"))
    assert results_root() == tmp_path / "project" / "saved"
    assert cache_dir() == tmp_path / "cache"
    assert resolve_root() == Path("~/cifar").expanduser()
    monkeypatch.setenv("BYHAND_RESULTS", "")
    assert results_root() == tmp_path / "project" / "results"
