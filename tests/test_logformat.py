from datetime import datetime

import pytest
from logparse import parse_log

from byhand.search import logformat as lf
from byhand.search.configs import COURSE_SETTINGS

pytestmark = pytest.mark.task8


def test_loss_line_matches_the_course():
    when = datetime(2026, 2, 1, 9, 5, 3, 0)
    assert lf.loss_line(when, 5, 0.123456789) == (
        "09:05:03.000000  |  Epoch 5  |  Training loss 0.12346"
    )


def test_logged_epochs():
    assert lf.logged_epochs(30) == [1, 5, 10, 15, 20, 25, 30]
    assert lf.logged_epochs(7) == [1, 5, 7]
    assert lf.logged_epochs(1) == [1]


def test_headers_match_the_course():
    text = lf.course_log(
        [_pair(0.01, [0.5] * 5, [0.5] * 5, momentum=0.9, weight_decay=0.001)],
        device="cpu", batch_size=256, n_epochs=30, seed=265,
    )  # fmt: skip
    lines = text.splitlines()
    assert lines[:7] == [
        "Training on device cpu.",
        "",
        "   Global parameters:",
        "batch_size =  256",
        "n_epoch =  30",
        "loss_fn =  CrossEntropyLoss()",
        "seed =  265",
    ]
    assert lines[8:12] == [
        "   Current parameters:",
        "lr =  0.01",
        "mom =  0.9",
        "decay =  0.001",
    ]
    assert set(lines[7]) == {"="}
    assert lines[12] == lf.SGD_HEADER


def test_parse_round_trip():
    text = lf.course_log(
        [_pair(0.1, [0.5, 0.4, 0.3, 0.2, 0.25], [0.5] * 5, momentum=0.0,
               final={"train_acc": 0.91, "val_acc": 0.875,
                      "train_acc_manual": 0.91, "val_acc_manual": 0.875})],
        device="cpu", batch_size=8, n_epochs=5, seed=1,
    )  # fmt: skip
    (cfg,) = parse_log(text)
    assert (cfg["lr"], cfg["mom"], cfg["decay"]) == (0.1, 0.0, 0.0)
    assert cfg["sgd"]["losses"] == {1: 0.5, 5: 0.25}
    assert cfg["sgd"]["train_acc"] == 0.91
    assert cfg["sgd"]["val_acc"] == 0.88  # printed with 2 decimals
    assert cfg["manual"]["losses"] == {1: 0.5, 5: 0.5}
    assert cfg["manual"]["val_acc"] == 0.88


def test_reference_file_parses():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "gradient_descent_output.txt"
    configs = parse_log(path.read_text())
    # The deliverable holds the course's six settings, in its order.
    assert [(c["lr"], c["mom"], c["decay"]) for c in configs] == list(
        COURSE_SETTINGS
    )
    assert path.read_text().startswith("Training on device ")
    for cfg in configs:
        # The course's point: SGD and manual print the same losses.
        assert cfg["sgd"]["losses"] == cfg["manual"]["losses"]
        assert list(cfg["sgd"]["losses"]) == lf.logged_epochs(30)


def _pair(
    lr, sgd_losses, manual_losses, diverged=False, momentum=0.9,
    weight_decay=0.0, final=None,
):  # fmt: skip
    """What `course_log` reads of a trained pair, with known values."""
    from types import SimpleNamespace

    from byhand.training import History

    when = datetime(2026, 1, 1)

    def text(losses):
        return "\n".join(
            lf.loss_line(when, e, losses[e - 1]) for e in lf.logged_epochs(5)
        )

    manual = History(losses=manual_losses, diverged=diverged)
    manual.message = "training diverged at epoch 5" if diverged else ""
    return SimpleNamespace(
        lr=lr, momentum=momentum, weight_decay=weight_decay,
        sgd=History(losses=sgd_losses), manual=manual,
        log_sgd=text(sgd_losses), log_manual=text(manual_losses),
        final=final or {"train_acc": 0.91, "val_acc": 0.77,
                        "train_acc_manual": 0.62, "val_acc_manual": 0.55},
    )  # fmt: skip


def test_course_log_prints_each_blocks_own_numbers():
    sgd = [0.5, 0.4, 0.3, 0.2, 0.1]
    manual = [0.9, 0.8, 0.7, 0.6, 0.55]
    text = lf.course_log(
        [_pair(0.01, sgd, manual), _pair(0.1, sgd, sgd, diverged=True)],
        device="cpu", batch_size=8, n_epochs=5, seed=265,
    )  # fmt: skip
    first, second = parse_log(text)
    assert first["lr"] == 0.01 and second["lr"] == 0.1
    assert first["sgd"]["losses"] == {1: 0.5, 5: 0.1}
    assert first["manual"]["losses"] == {1: 0.9, 5: 0.55}
    assert (first["sgd"]["train_acc"], first["sgd"]["val_acc"]) == (0.91, 0.77)
    assert (first["manual"]["train_acc"], first["manual"]["val_acc"]) == (
        0.62,
        0.55,
    )
    # A diverged manual run prints its message instead of accuracies.
    assert "val_acc" not in second["manual"]
    assert "training diverged at epoch 5" in text
    assert text.count(lf.SGD_HEADER) == 2 == text.count(lf.MANUAL_HEADER)
