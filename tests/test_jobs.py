"""byhand.search.jobs: one job, the flip protocol, and workers that change
nothing but the speed."""

import dataclasses
import unittest.mock

import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from byhand import data
from byhand.search import run as search
from byhand.search.jobs import Job, Runner, Setting, run_job

pytestmark = pytest.mark.task8

CONFIG = dataclasses.replace(search.TINY, probes=())


def _setting(splits):
    return Setting(
        train=splits.train,
        train_flip=data.with_flips(splits.train),
        val=splits.val,
        hidden=CONFIG.hidden,
        n_epochs=CONFIG.n_epochs,
        batch_size=CONFIG.batch_size,
        dtype=torch.float64,
    )


def _job(protocol, seed=CONFIG.seed, lr=0.05, check=True):
    return Job(
        "j", "j", "grid", protocol, "grid", "MyMLP",
        lr, 0.9, 0.0, seed, check=check,
    )  # fmt: skip


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


def test_sgd_and_manual_stay_identical_under_the_flip_protocol(tiny_splits):
    p = run_job(_job("flip"), _setting(tiny_splits))
    assert p.identical and p.max_abs_diff == 0.0
    plain = run_job(_job("plain"), _setting(tiny_splits))
    assert plain.sgd.losses != p.sgd.losses  # it did train on other data


def test_two_workers_give_the_same_results(tiny_splits, tmp_path):
    one = search.run_search(
        tiny_splits, CONFIG, results_dir=tmp_path / "1", workers=1
    )
    two = search.run_search(
        tiny_splits, CONFIG, results_dir=tmp_path / "2", workers=2
    )
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
    threads = torch.get_num_threads()
    run_job(_job("plain"), _setting(tiny_splits))
    assert torch.get_num_threads() == threads
    assert torch.get_default_dtype() == torch.float64


def test_the_runner_keeps_the_order_of_the_jobs(tiny_splits):
    jobs = [dataclasses.replace(_job("plain", lr=lr), run=f"r{lr}")
            for lr in (0.01, 0.05, 0.1)]  # fmt: skip
    with Runner(_setting(tiny_splits)) as runner:
        out = runner.run(jobs)
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
