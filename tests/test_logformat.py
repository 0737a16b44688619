from datetime import datetime

from byhand.search import COURSE_SETTINGS
from byhand.search import logformat as lf


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
    head = lf.global_header("cpu", 256, 30, "CrossEntropyLoss()", 265)
    assert head.splitlines() == [
        "Training on device cpu.",
        "",
        "   Global parameters:",
        "batch_size =  256",
        "n_epoch =  30",
        "loss_fn =  CrossEntropyLoss()",
        "seed =  265",
    ]
    conf = lf.config_header(0.01, 0.9, 0.001).splitlines()
    assert conf[1:] == [
        "   Current parameters:",
        "lr =  0.01",
        "mom =  0.9",
        "decay =  0.001",
    ]
    assert set(conf[0]) == {"="}


def test_parse_round_trip():
    text = "\n".join(
        [
            lf.global_header("cpu", 8, 5, "CrossEntropyLoss()", 1),
            lf.config_header(0.1, 0.0, 0.0),
            lf.SGD_HEADER,
            lf.loss_line(datetime(2026, 1, 1), 1, 0.5),
            lf.loss_line(datetime(2026, 1, 1), 5, 0.25),
            lf.accuracies_block(0.91, 0.875),
            lf.MANUAL_HEADER,
            lf.loss_line(datetime(2026, 1, 1), 1, 0.5),
            lf.accuracies_block(0.91, 0.875),
        ]
    )
    (cfg,) = lf.parse_log(text)
    assert (cfg["lr"], cfg["mom"], cfg["decay"]) == (0.1, 0.0, 0.0)
    assert cfg["sgd"]["losses"] == {1: 0.5, 5: 0.25}
    assert cfg["sgd"]["train_acc"] == 0.91
    assert cfg["sgd"]["val_acc"] == 0.88  # printed with 2 decimals
    assert cfg["manual"]["losses"] == {1: 0.5}


def test_reference_file_parses():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "gradient_descent_output.txt"
    configs = lf.parse_log(path.read_text())
    # The deliverable holds the course's six settings, in its order.
    assert [(c["lr"], c["mom"], c["decay"]) for c in configs] == list(
        COURSE_SETTINGS
    )
    assert path.read_text().startswith("Training on device ")
    for cfg in configs:
        # The course's point: SGD and manual print the same losses.
        assert cfg["sgd"]["losses"] == cfg["manual"]["losses"]
        assert list(cfg["sgd"]["losses"]) == lf.logged_epochs(30)
