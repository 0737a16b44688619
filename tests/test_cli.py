"""byhand.search.cli: the command line, its outputs and its errors."""

import os
import stat

import pytest

from byhand import cifar
from byhand.search import cli as experiments
from byhand.search.logformat import parse_log
from byhand.testing import write_synthetic_cifar10


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A synthetic CIFAR-10, a private cache and a fake project folder."""
    root = write_synthetic_cifar10(tmp_path / "c", 20, 5)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BYHAND_SEARCH", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setattr(experiments, "project_root", lambda: project)
    return root, project


def run(root, tmp_path, *extra):
    return experiments.main(
        [
            "--root",
            str(root),
            "--profile",
            "tiny",
            "--results",
            str(tmp_path / "r"),
            "--no-progress",
            *extra,
        ]
    )


def test_command_without_data_says_how_to_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cifar, "_download", lambda root: 1 / 0)
    code = experiments.main(
        ["--root", str(tmp_path / "none"), "--no-progress"]
    )
    assert code == 2
    assert "CIFAR10_ROOT" in capsys.readouterr().err


def test_command_writes_the_log_and_prints_the_summary(tiny, tmp_path, capsys):
    root, _ = tiny
    log = tmp_path / "gd.txt"
    assert run(root, tmp_path, "--log", str(log)) == 0
    assert parse_log(log.read_text())
    out = capsys.readouterr().out
    assert "SELECTED" in out and "identical: True" in out


def test_a_tiny_run_leaves_the_projects_log_alone(tiny, tmp_path, capsys):
    root, project = tiny
    committed = project / "gradient_descent_output.txt"
    committed.write_text("the course-format log of the real search\n")
    assert run(root, tmp_path) == 0
    assert (
        committed.read_text() == "the course-format log of the real search\n"
    )
    out = capsys.readouterr().out
    assert "log in " + str(tmp_path / "r") in out


def test_outputs_keep_the_usual_permissions(tiny, tmp_path):
    root, _ = tiny
    old = os.umask(0o022)
    try:
        assert run(root, tmp_path, "--log", str(tmp_path / "gd.txt")) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "gd.txt").stat().st_mode) == 0o644
    (folder,) = (tmp_path / "r").glob("search-*")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for f in folder.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name
    (cache,) = (tmp_path / "cache").glob("*.pt")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o644


def test_an_unwritable_log_is_found_before_training(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny

    def never(*a, **k):
        raise AssertionError("trained before checking the outputs")

    monkeypatch.setattr(experiments, "run_search", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = run(root, tmp_path, "--log", str(blocker / "gd.txt"))
    assert code == 2
    assert "--log" in capsys.readouterr().err


def test_an_unknown_profile_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("BYHAND_SEARCH", "bogus")
    assert experiments.main(["--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "BYHAND_SEARCH='bogus'" in err and "default" in err
