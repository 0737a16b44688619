"""byhand.search.jobs: one job, the flip protocol, and workers that change
nothing but the speed."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
import unittest.mock
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from byhand import data
from byhand.search import run as search
from byhand.search.jobs import Job, Setting, default_workers, run_job, runner

pytestmark = pytest.mark.task8

CONFIG = dataclasses.replace(search.TINY, probes=())


def _setting(splits):
    return Setting(splits.train, splits.val, CONFIG)


def _job(protocol, seed=CONFIG.seed, lr=0.05, check=True):
    return Job(run="j", config="j", protocol=protocol, source="grid",
               lr=lr, momentum=0.9, seed=seed, check=check)  # fmt: skip


def test_the_flip_protocol_changes_the_training_split_only(tiny_splits):
    flipped = data.with_flips(tiny_splits.train)
    x, y = tiny_splits.train.tensors
    fx, fy = flipped.tensors
    assert len(flipped) == 2 * len(tiny_splits.train)
    assert torch.equal(fx[0::2], x) and torch.equal(fx[1::2], x.flip(-1))
    assert torch.equal(fy[0::2], y) and torch.equal(fy[1::2], y)
    # A flip run trains on twice the images and validates on the same.
    setting = _setting(tiny_splits)
    job = _job("flip")
    seen = []
    real = DataLoader.__init__

    def spy(self, dataset, *a, **k):
        seen.append(len(dataset))
        real(self, dataset, *a, **k)

    with unittest.mock.patch.object(DataLoader, "__init__", spy):
        run_job(job, setting)
    assert seen == [2 * len(tiny_splits.train), len(tiny_splits.val)]


def test_a_shift_run_trains_on_the_shifted_split(tiny_splits):
    seen = []
    real = DataLoader.__init__

    def spy(self, dataset, *a, **k):
        seen.append(dataset)
        real(self, dataset, *a, **k)

    with unittest.mock.patch.object(DataLoader, "__init__", spy):
        run_job(_job("shift", check=False), _setting(tiny_splits))
    train, val = seen
    want = data.with_shifts(tiny_splits.train)
    assert len(train) == 10 * len(tiny_splits.train)
    assert all(
        torch.equal(a, b)
        for a, b in zip(train.tensors, want.tensors, strict=True)
    )
    assert val is tiny_splits.val


def test_sgd_and_manual_stay_identical_under_the_flip_protocol(tiny_splits):
    p = run_job(_job("flip"), _setting(tiny_splits))
    assert p.identical and p.max_abs_diff == 0.0
    plain = run_job(_job("plain"), _setting(tiny_splits))
    assert plain.sgd.losses != p.sgd.losses  # it did train on other data


def _one_bar(err: str, n_runs: int) -> None:
    """One progress bar on stderr, ended at every run of the search."""
    bars = [line for line in err.split("\n") if line.strip()]
    assert len(bars) == 1, bars  # a bar ends its line when it closes
    last = bars[0].split("\r")[-1]  # it redraws itself after a "\r"
    assert last.startswith("runs: 100%"), last
    assert f"| {n_runs}/{n_runs} [" in last, last


def test_two_workers_give_the_same_results(tiny_splits, tmp_path, capsys):
    found = []
    for workers in (1, 2):
        found.append(
            search.run_search(
                tiny_splits,
                CONFIG,
                results_dir=tmp_path / str(workers),
                workers=workers,
                progress=True,
            )
        )
        # one bar, ended at every run (the majority baseline is no run)
        _one_bar(capsys.readouterr().err, len(found[-1].runs) - 1)
    one, two = found
    assert two.meta["workers"] == 2
    same = [c for c in one.runs if not c.startswith("seconds")]
    pd.testing.assert_frame_equal(one.runs[same], two.runs[same])
    pd.testing.assert_frame_equal(one.epochs, two.epochs)
    assert one.test == two.test


def test_sgd_only_jobs_say_so(tiny_splits):
    p = run_job(_job("plain", check=False), _setting(tiny_splits))
    assert not p.checked and not p.identical and p.manual.losses == []
    assert p.row()["checked"] is False


def test_a_job_restores_threads_and_dtype(tiny_splits):
    # A job trains in the setting's dtype (a worker starts in float32),
    # then leaves this process's default as it found it.
    threads = torch.get_num_threads()
    s = tiny_splits
    setting = Setting(s.train, s.val, CONFIG, dtype=torch.float32)
    p = run_job(_job("plain"), setting)
    assert torch.get_num_threads() == threads
    assert torch.get_default_dtype() == torch.float64
    assert {v.dtype for v in p.state_dict.values()} == {torch.float32}


def test_the_runner_keeps_the_order_of_the_jobs(tiny_splits):
    jobs = [dataclasses.replace(_job("plain", lr=lr), run=f"r{lr}")
            for lr in (0.01, 0.05, 0.1)]  # fmt: skip
    with runner(_setting(tiny_splits)) as run:
        out = run(jobs)
    assert [p.run for p in out] == ["r0.01", "r0.05", "r0.1"]


@pytest.mark.cuda
def test_a_search_on_cuda_agrees_bit_for_bit(tiny_splits, tmp_path):
    result = search.run_search(
        tiny_splits, CONFIG, results_dir=tmp_path / "r", device="cuda"
    )
    assert result.meta["device"] == "cuda"
    assert result.meta["all_identical"]
    checked = result.runs[result.runs["checked"].astype(bool)]
    assert (checked["max_abs_diff"] == 0).all()


def test_jobs_are_built_with_keywords():
    with pytest.raises(TypeError):
        Job("j", "j", "grid", "plain", "grid", "MyMLP", 0.1, 0, 0, 1, True)


# A search with two workers that trains until it is stopped.
PARENT = """
import dataclasses, sys, warnings
import torch
from byhand import data
from byhand.search import run
from synthetic import write_synthetic_cifar10

if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    root = write_synthetic_cifar10(sys.argv[1] + "/cifar", 20, 5)
    warnings.simplefilter("ignore")
    splits = data.cat_car_splits(root, val_fraction=0.2, download=False)
    config = dataclasses.replace(run.TINY, n_epochs=10**6)
    try:
        run.run_search(splits, config, results_dir=sys.argv[1] + "/r",
                       workers=2, progress=False)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
"""


def _stat(pid):
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return None if state in "ZX" else (state, int(ppid))


def _children(pid):
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [c for c in pids if (_stat(c) or (None, None))[1] == pid]


def _ignores_sigint(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line for line in status.splitlines() if line[:7] == "SigIgn:")
    return bool(int(mask.split()[1], 16) & 1 << (signal.SIGINT - 1))


def _start_parent(tmp_path):
    """The parent, once both of its workers are set up and training."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "BYHAND_CACHE": str(tmp_path / "cache")}  # fmt: skip
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C reaches its whole group
    )
    deadline, started = time.monotonic() + 180, None
    while time.monotonic() < deadline and parent.poll() is None:
        kids = _children(parent.pid)
        workers = [k for k in kids if "spawn_main" in _cmdline(k)]
        if len(workers) == 2:
            started = started or time.monotonic()
            # Set up (Ctrl-C ignored, the parent stops them), else given
            # a minute to start (a busy machine): then training.
            if all(map(_ignores_sigint, workers)) or (
                time.monotonic() - started > 60
            ):
                time.sleep(1.0)
                return parent, kids
        time.sleep(0.2)
    parent.kill()
    pytest.fail(f"no two workers started: {parent.communicate()[1]}")


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _gone_within(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [p for p in pids if _stat(p)]:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "sig",
    [signal.SIGKILL, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],
)
def test_workers_end_when_their_parent_dies(tmp_path, sig):
    parent, kids = _start_parent(tmp_path)
    assert len(kids) >= 3  # two workers and the resource tracker
    parent.send_signal(sig)
    parent.wait()
    try:
        assert _gone_within(kids, 5), [_cmdline(k) for k in kids]
    finally:
        for k in kids:
            if _stat(k):
                os.kill(k, signal.SIGKILL)


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_without_tracebacks(tmp_path):
    parent, kids = _start_parent(tmp_path)
    os.killpg(parent.pid, signal.SIGINT)  # Ctrl-C in a terminal
    try:
        _, err = parent.communicate(timeout=30)
        assert parent.returncode == 130, err
        assert "Traceback" not in err and err.count("interrupted") == 1
        assert _gone_within(kids, 5), [_cmdline(k) for k in kids]
    finally:
        for k in kids:
            if _stat(k):
                os.kill(k, signal.SIGKILL)


@pytest.mark.parametrize("bad", ["abc", "1.5", "0", "-1", "²"])
def test_a_bad_worker_count_is_a_message_in_the_library(monkeypatch, bad):
    monkeypatch.setenv("BYHAND_WORKERS", bad)
    with pytest.raises(ValueError, match=r"BYHAND_WORKERS=.*whole number"):
        default_workers()
    monkeypatch.setenv("BYHAND_WORKERS", " 2 ")
    assert default_workers() == 2
