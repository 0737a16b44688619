"""Speed of the hand-written code against the PyTorch reference.

Each ratio is measured in the same run, alternating the two sides and
keeping the best of several repeats (the least disturbed measurement).

    python benchmarks/run.py [backprop] [training] [data] [workers]

`data` needs CIFAR10_ROOT (or a downloaded copy in data/).  `workers`
compares the search's two ways of using the cores: one process training
jobs one after the other with every thread, against worker processes of
one thread each (synthetic data of the real size: 9,000 images).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from byhand import MyMLP, MyNet, backpropagation, mse_loss
from byhand.training import train, train_manual_update


def best_of(fn: Callable[[], object], repeats: int, number: int) -> float:
    """Seconds per call: the best mean over ``repeats`` of ``number``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def paired(a: Callable, b: Callable, repeats: int, number: int):
    """Alternate a and b so both see the same machine state."""
    ta = tb = float("inf")
    for _ in range(repeats):
        ta = min(ta, best_of(a, 1, number))
        tb = min(tb, best_of(b, 1, number))
    return ta, tb


def _time_backprop(n_l: list[int], m: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = MyNet(n_l)
    x = torch.randn(m, n_l[0])
    y = torch.randn(m, n_l[-1])
    y_pred = model(x)

    def hand():
        backpropagation(model, y, y_pred)

    def autograd():
        # The graph is kept, so this times backward() alone.
        mse_loss(y, y_pred).backward(retain_graph=True)

    hand()
    autograd()
    return paired(hand, autograd, repeats=7, number=200)


def bench_backprop() -> None:
    print("backpropagation (one call) / loss.backward() (one call), float64")
    print(
        f"{'net':>18} {'batch':>6} {'hand µs':>9} {'autograd µs':>12} "
        f"{'ratio':>6}"
    )
    for n_l in ([2, 3, 2], [576, 16, 10], [768, 128, 32, 2]):
        for m in (1, 256):
            t_hand, t_auto = _time_backprop(n_l, m)
            print(
                f"{n_l!s:>18} {m:>6} {1e6 * t_hand:>9.1f} "
                f"{1e6 * t_auto:>12.1f} {t_hand / t_auto:>6.2f}"
            )


def _time_training(
    loader: DataLoader, mom: float, wd: float
) -> tuple[float, float]:
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(0)
    m_sgd = MyMLP()
    opt = torch.optim.SGD(
        m_sgd.parameters(), lr=0.01, momentum=mom, weight_decay=wd
    )
    torch.manual_seed(0)
    m_man = MyMLP()

    def sgd():
        train(1, opt, m_sgd, loss_fn, loader, progress=False)

    def manual():
        train_manual_update(
            1, 0.01, m_man, loss_fn, loader, wd, mom, progress=False
        )

    sgd()
    manual()
    return paired(manual, sgd, repeats=5, number=2)


def bench_training() -> None:
    n, batch = 9000, 256
    print(
        f"\ntrain_manual_update epoch / train (torch.optim.SGD) epoch: "
        f"MyMLP, {n} samples of 3x16x16, batch {batch}, float64"
    )
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, 16, 16, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=False)
    print(f"{'setting':>22} {'manual s':>9} {'SGD s':>7} {'ratio':>6}")
    for name, mom, wd in (("plain", 0.0, 0.0), ("momentum+decay", 0.9, 0.01)):
        t_man, t_sgd = _time_training(loader, mom, wd)
        print(f"{name:>22} {t_man:>9.3f} {t_sgd:>7.3f} {t_man / t_sgd:>6.3f}")


def bench_data() -> None:
    from torchvision import transforms
    from torchvision.datasets import CIFAR10

    from byhand import cifar, data

    root = cifar.resolve_root()
    print(f"\nCIFAR-10 load + resize + split (root {root})")
    tmp = tempfile.mkdtemp()
    os.environ["BYHAND_CACHE"] = tmp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        data.cat_car_splits(download=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        data.cat_car_splits(download=False)
        warm = time.perf_counter() - t0
    shutil.rmtree(tmp)
    # The naive way: torchvision's dataset, PIL Resize image by image
    # (integrity check skipped: this copy's checksums are not official).
    CIFAR10._check_integrity = lambda self: True
    t0 = time.perf_counter()
    tf = transforms.Compose([transforms.Resize(16), transforms.ToTensor()])
    for split in (True, False):
        ds = CIFAR10(str(root), train=split, transform=tf, download=False)
        images = torch.stack([ds[i][0] for i in range(len(ds))])
        keep = torch.isin(torch.tensor(ds.targets), torch.tensor([1, 3]))
        images[keep]
    naive = time.perf_counter() - t0
    print(
        f"byhand cold {cold:.2f} s, warm {warm:.2f} s; naive torchvision "
        f"{naive:.2f} s; naive/cold {naive / cold:.1f}x, "
        f"naive/warm {naive / warm:.1f}x"
    )


def bench_workers(n_jobs: int = 8, n_epochs: int = 30) -> None:
    from byhand.search.configs import SearchConfig
    from byhand.search.jobs import Job, Setting, run_job, runner

    workers = os.cpu_count() or 1
    g = torch.Generator().manual_seed(0)
    X = torch.randn(9000, 3, 16, 16, generator=g)
    y = torch.randint(0, 2, (9000,), generator=g)
    train_set = TensorDataset(X, y)
    setting = Setting(
        train=train_set,
        val=TensorDataset(X[:1000], y[:1000]),
        config=SearchConfig(
            hidden=(128, 32), n_epochs=n_epochs, batch_size=256
        ),
        dtype=torch.float64,
    )
    jobs = [
        Job(run=f"j{i}", config=f"j{i}", source="grid", lr=0.01,
            momentum=0.9, seed=265 + i, check=False)
        for i in range(n_jobs)
    ]  # fmt: skip
    print(
        f"\n{n_jobs} MyMLP jobs of {n_epochs} epochs (SGD only): "
        f"one process with {torch.get_num_threads()} threads against "
        f"{workers} worker processes of 1 thread"
    )
    t0 = time.perf_counter()
    for job in jobs:  # run_job uses one thread: give it all of them
        threads = torch.get_num_threads()
        real_set = torch.set_num_threads
        torch.set_num_threads = lambda n: None  # keep every thread
        try:
            run_job(job, setting)
        finally:
            torch.set_num_threads = real_set
            torch.set_num_threads(threads)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    with runner(setting, workers=workers) as run:
        run(jobs)
    pool = time.perf_counter() - t0
    print(
        f"one process, all threads {serial:.2f} s; {workers} processes "
        f"{pool:.2f} s (start-up included); speed-up {serial / pool:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "parts",
        nargs="*",
        default=["backprop", "training", "data", "workers"],
    )
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for part in args.parts:
        {
            "backprop": bench_backprop,
            "training": bench_training,
            "data": bench_data,
            "workers": bench_workers,
        }[part]()


if __name__ == "__main__":
    main()
