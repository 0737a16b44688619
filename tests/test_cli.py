"""byhand.search.cli: the command line, its outputs and its errors."""

import errno
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import torch
from logparse import parse_log
from synthetic import relabel, write_synthetic_cifar10

from byhand import cifar
from byhand.search import cli as experiments


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


# ---------------------------------------------- paths checked before training


def never(*a, **k):
    raise AssertionError("trained before checking the outputs")


def test_a_folder_as_log_is_refused_before_training(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    (tmp_path / "logdir").mkdir()
    assert run(root, tmp_path, "--log", str(tmp_path / "logdir")) == 2
    err = capsys.readouterr().err
    assert "--log" in err and "is a folder" in err


def test_the_results_folder_as_log_is_refused_before_training(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    results = tmp_path / "r"  # what `run` passes as --results
    assert run(root, tmp_path, "--log", str(results)) == 2
    err = capsys.readouterr().err
    assert "--log" in err and "is the results folder" in err
    assert not results.is_file()


def test_a_log_in_the_cifar10_folder_is_refused_before_training(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    data = root / cifar.FOLDER
    before = sorted(p.name for p in data.iterdir())
    assert run(root, tmp_path, "--log", str(data / "gd.txt")) == 2
    err = capsys.readouterr().err
    assert "--log" in err and "lies in the CIFAR-10 folder" in err
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_symlinked_log_is_written_through(tiny, tmp_path):
    root, _ = tiny
    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_text("old")
    link.symlink_to(target)
    assert run(root, tmp_path, "--log", str(link)) == 0
    assert link.is_symlink() and parse_log(target.read_text())


def test_a_fifo_log_is_written_through_not_replaced(tiny, tmp_path):
    root, _ = tiny
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(
        target=lambda: got.append(fifo.read_text()), daemon=True
    )
    reader.start()
    time.sleep(0.5)  # the reader waits in open()
    assert run(root, tmp_path, "--log", str(fifo)) == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert parse_log(got[0])


def test_a_fifo_nobody_reads_is_refused(tiny, tmp_path, monkeypatch, capsys):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    os.mkfifo(tmp_path / "fifo")
    assert run(root, tmp_path, "--log", str(tmp_path / "fifo")) == 2
    assert "nobody reads" in capsys.readouterr().err


@pytest.mark.parametrize("var", ["BYHAND_RESULTS", "BYHAND_CACHE"])
def test_a_file_where_a_folder_is_meant_is_refused(
    tiny, tmp_path, monkeypatch, capsys, var
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(var, str(blocker / "sub"))
    argv = ["--root", str(root), "--profile", "tiny", "--no-progress"]
    assert experiments.main(argv) == 2
    err = capsys.readouterr().err
    assert var in err and "is a file, not a folder" in err


def test_no_space_is_found_before_training(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        shutil, "disk_usage", lambda p: usage._replace(free=1000)
    )
    assert run(root, tmp_path, "--log", str(tmp_path / "gd.txt")) == 2
    assert "free some space" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:cannot write the resize cache")
def test_a_full_disk_mid_write_leaves_nothing_half_written(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "model.pt")

    monkeypatch.setattr(torch, "save", full)  # the cache and model.pt
    assert run(root, tmp_path, "--log", str(tmp_path / "gd.txt")) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "r").iterdir() if p.is_dir()] == []
    assert not (tmp_path / "gd.txt").exists()


@pytest.mark.filterwarnings("ignore:cannot write the resize cache")
def test_a_file_size_limit_is_a_message_not_a_traceback(
    tiny, tmp_path, capsys
):
    # torch.save itself turns a failed write into a RuntimeError.
    root, _ = tiny
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))
    try:
        code = run(root, tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert code == 2
    assert "File too large" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "r").iterdir() if p.is_dir()] == []


def test_saved_results_in_a_read_only_folder_load(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    assert run(root, tmp_path) == 0

    def read_only(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    capsys.readouterr()
    assert run(root, tmp_path) == 0
    assert "loaded from" in capsys.readouterr().out
    monkeypatch.setattr(experiments, "run_search", never)
    assert run(root, tmp_path, "--force") == 2  # retraining must write


# ------------------------------------------------------------- exit codes


@pytest.mark.parametrize("value", ["abc", "1.5", "0", "-1", "²"])
def test_a_bad_worker_count_is_a_message(
    tiny, tmp_path, monkeypatch, capsys, value
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    monkeypatch.setenv("BYHAND_WORKERS", value)
    assert run(root, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"BYHAND_WORKERS={value!r}" in err and "Traceback" not in err


def _record(*a, **k):
    _record.kwargs = k
    raise SystemExit(99)


@pytest.mark.parametrize("value", ["100000", ""])
def test_worker_count_defaults_to_and_is_capped_at_the_cores(
    tiny, tmp_path, monkeypatch, capsys, value
):
    root, _ = tiny
    monkeypatch.setenv("BYHAND_WORKERS", value)
    monkeypatch.setattr(experiments, "run_search", _record)
    with pytest.raises(SystemExit):
        run(root, tmp_path)
    assert _record.kwargs["workers"] == experiments.cores()
    note = "note: BYHAND_WORKERS=100000" in capsys.readouterr().err
    assert note == bool(value)


@pytest.mark.parametrize(
    ("error", "code"),
    [(KeyboardInterrupt, 130), (RuntimeError("a bug"), 3)],
)
def test_interrupted_and_unexpected_exit_codes(
    tiny, tmp_path, monkeypatch, capsys, error, code
):
    root, _ = tiny

    def fail(*a, **k):
        raise error

    monkeypatch.setattr(experiments, "run_search", fail)
    assert run(root, tmp_path) == code
    err = capsys.readouterr().err
    if code == 130:
        assert err.strip().count("\n") == 0 and "Traceback" not in err
    else:
        assert "Traceback" in err and "a bug" in err


def test_sigterm_exits_143_without_a_traceback(tmp_path):
    script = (
        "import os, signal, time\n"
        "from byhand.search import cli\n"
        "def hang(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "cli.run_search = hang\n"
        "cli._run = lambda args: hang()\n"
        "raise SystemExit(cli.main(['--no-progress']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr


def test_a_closed_stdout_is_not_an_error(tiny, tmp_path, monkeypatch):
    root, _ = tiny
    read, write = os.pipe()
    os.close(read)
    monkeypatch.setattr(sys, "stdout", open(write, "w"))  # noqa: SIM115
    try:
        assert run(root, tmp_path) == 0
    finally:
        sys.stdout.close()


def test_data_without_a_class_exits_2_naming_it(
    tiny, tmp_path, monkeypatch, capsys
):
    root, _ = tiny
    monkeypatch.setattr(experiments, "run_search", never)
    relabel(root / "cifar-10-batches-py" / "test_batch", 1, 0)
    assert run(root, tmp_path) == 2
    err = capsys.readouterr().err
    assert "the test split has no 'car' images" in err
    assert "automobile" in err and "Traceback" not in err
