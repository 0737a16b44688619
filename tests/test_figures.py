"""Every figure: a Figure with a title, labelled axes, the split named."""

import base64
import dataclasses
import io
import math

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import pytest
from matplotlib.collections import PathCollection

from byhand.report import figures as plots
from byhand.search import selection


@pytest.fixture
def tiny(hard):
    return hard.raw, hard.splits, hard.result


def _check(fig, split_word):
    title = fig._suptitle.get_text() if fig._suptitle else ""
    titles = [title] + [ax.get_title() for ax in fig.axes]
    assert any(titles), "figure has no title"
    assert split_word in " ".join(titles)
    plt.close(fig)


def test_data_figure(tiny):
    raw, splits, _ = tiny
    fig = plots.sample_grid(raw, splits, n_per_class=3)
    assert len(fig.axes) == 2 * 2 * 3
    _check(fig, "train")


@pytest.mark.parametrize(
    "name",
    [
        "sgd_vs_manual",
        "learning_curves",
        "all_loss_curves",
        "val_accuracy_heatmap",
        "confusion_matrix_figure",
        "seed_spread",
    ],
)
def test_result_figures(tiny, name):
    _, _, result = tiny
    fig = getattr(plots, name)(result)
    labelled = [ax for ax in fig.axes if ax.get_xlabel() and ax.get_ylabel()]
    assert labelled, f"{name}: no axes with both labels"
    _check(fig, "split")


def test_mistakes_gallery(tiny):
    _, splits, result = tiny
    fig = plots.misclassified_gallery(result, splits, n=4)
    _check(fig, "test split")


def test_heatmap_marks_the_diverged_run(tiny):
    _, _, result = tiny
    fig = plots.val_accuracy_heatmap(result)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "diverged" in texts
    plt.close(fig)


def _lines(ax):
    return {line.get_label(): list(line.get_ydata()) for line in ax.lines}


def test_sgd_vs_manual_draws_each_trainers_own_losses(tiny):
    _, _, result = tiny
    # Make the manual losses differ, so drawing SGD twice would show.
    changed = dataclasses.replace(result, epochs=result.epochs.copy())
    changed.epochs["train_loss_manual"] = changed.epochs["train_loss"] + 0.01
    fig = plots.sgd_vs_manual(changed)
    runs = changed.runs
    course = runs[(runs["source"] == "course") & (runs["stage"] == "grid")]
    assert len(course) == len(result.config.course)
    for ax, run in zip(fig.axes, course["run"], strict=False):
        ep = changed.epochs[changed.epochs["run"] == run]
        lines = _lines(ax)
        assert lines["torch.optim.SGD"] == list(ep["train_loss"])
        assert lines["manual update"] == list(ep["train_loss_manual"])
    plt.close(fig)


def test_confusion_figure_shows_true_classes_as_rows(tiny):
    _, _, result = tiny
    changed = dataclasses.replace(
        result, test={**result.test, "confusion": [[7, 1], [2, 5]]}
    )
    fig = plots.confusion_matrix_figure(changed)
    ax = fig.axes[0]
    cells = {(t.get_position()): t.get_text() for t in ax.texts}
    assert cells[(0, 1)] == "2"  # x = predicted car, y = true cat
    assert cells[(1, 0)] == "1"
    assert ax.get_ylabel() == "true class"
    plt.close(fig)


def test_seed_spread_shows_every_seed(tiny):
    _, _, result = tiny
    fig = plots.seed_spread(result)
    ax = fig.axes[0]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    xs = sorted(float(x) for c in dots for x, _ in np.asarray(c.get_offsets()))
    runs = result.runs
    seeded = runs[runs["config"].isin(runs.loc[runs["stage"] != "grid",
                                               "config"])]  # fmt: skip
    seeded = seeded[seeded["model"] == "MyMLP"].dropna(subset=["val_acc"])
    assert xs == sorted(seeded["val_acc"])
    plt.close(fig)


def test_seed_spread_draws_a_configuration_whose_seeds_all_diverged(tiny):
    _, _, result = tiny
    stats = selection.seed_stats(result.runs).query("n > 1")
    best = result.selected_row()
    config, protocol = next(
        k for k in stats.index if k != (best["config"], best["protocol"])
    )
    runs = result.runs.copy()
    lost = (runs["config"] == config) & (runs["protocol"] == protocol)
    runs.loc[lost, ["val_acc", "diverged"]] = [math.nan, True]
    fig = plots.seed_spread(dataclasses.replace(result, runs=runs))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any(label.startswith(f"{config} {protocol}:") for label in labels)
    plt.close(fig)


def _pixels(ax):
    """The RGB array an Axes shows, as uint8 (height, width, 3)."""
    (image,) = ax.images
    return np.asarray(image.get_array())


def _data(img):
    """A (3, H, W) uint8 tensor as the (H, W, 3) array a reader sees."""
    return np.transpose(img.numpy(), (1, 2, 0))


def test_heatmap_draws_each_runs_accuracy_at_its_lr_and_column(tiny):
    _, _, result = tiny
    fig = plots.val_accuracy_heatmap(result)
    ax = fig.axes[0]
    values = np.asarray(ax.images[0].get_array())
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    texts = {tuple(t.get_position()): t.get_text() for t in ax.texts}
    runs = result.runs
    grid = runs[(runs["stage"] == "grid") & (runs["model"] == "MyMLP")]
    assert len(grid) >= 4
    for _, run in grid.iterrows():
        i = rows.index(f"{run.lr:g}")
        j = cols.index(f"mom {run.momentum:g}\nwd {run.weight_decay:g}")
        if run.diverged:
            assert texts[(j, i)] == "diverged"
            continue
        assert values[i, j] == run.val_acc, run.run
        assert texts[(j, i)] == f"{run.val_acc:.3f}", run.run
    plt.close(fig)


def test_sample_grid_shows_the_images_of_the_data(tiny):
    raw, splits, _ = tiny
    n = 3
    fig = plots.sample_grid(raw, splits, n_per_class=n)
    axes = np.asarray(fig.axes).reshape(2 * len(splits.classes), n)
    y = splits.train.tensors[1]
    for c in range(len(splits.classes)):
        picks = [i for i in range(len(y)) if y[i] == c][:n]
        for j, i in enumerate(picks):
            official = raw.train_images[int(splits.index["train"][i])]
            assert raw.train_labels[int(splits.index["train"][i])] in (1, 3)
            assert np.array_equal(_pixels(axes[2 * c, j]), _data(official))
            small = splits.images["train"][i]
            assert np.array_equal(_pixels(axes[2 * c + 1, j]), _data(small))
    plt.close(fig)


def test_mistakes_gallery_shows_each_mistakes_test_image(tiny):
    _, splits, result = tiny
    wrong = result.test["misclassified"]
    fig = plots.misclassified_gallery(result, splits, n=len(wrong))
    for ax, item in zip(fig.axes, wrong, strict=False):
        want = _data(splits.images["test"][item["index"]])
        assert np.array_equal(_pixels(ax), want)
        title = ax.get_title()
        assert f"true {item['true']}" in title
        assert f"({item['confidence']:.2f})" in title
    plt.close(fig)


def test_learning_curves_draw_validation_and_training_apart(tiny):
    _, _, result = tiny
    fig = plots.learning_curves(result)
    ep = result.epochs[result.epochs["run"] == result.selected]
    loss, acc = fig.axes
    lines = _lines(loss)
    assert lines["training (running mean)"] == list(ep["train_loss"])
    assert lines["validation (end of epoch)"] == list(ep["val_loss"])
    assert _lines(acc)["validation (end of epoch)"] == list(ep["val_acc"])
    assert _lines(acc)["training (running)"] == list(ep["train_acc_running"])
    assert list(ep["val_loss"]) != list(ep["train_loss"])
    plt.close(fig)


def test_opaque_png_shows_figures_without_alpha():
    # In a real kernel, as Quarto's and Jupyter's: a figure cell's PNG is
    # RGBA before opaque_png, RGB after (pdfLaTeX copies it as it is), and
    # a retina figure keeps the display size it is shown at.
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    cells = [
        "import matplotlib.pyplot as plt\n"
        "from matplotlib_inline.backend_inline import set_matplotlib_formats\n"
        "from byhand.report import figures\n"
        "def draw():\n"
        "    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)\n"
        "    ax.plot([0, 1])\n"
        "    plt.close(fig)\n"
        "    return fig\n"
        "set_matplotlib_formats('png')",
        "draw()",
        "figures.opaque_png()",
        "draw()",
        "set_matplotlib_formats('retina')\nfigures.opaque_png()",
        "draw()",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    shown, dpis = [], []
    for cell in (nb.cells[1], nb.cells[3], nb.cells[5]):
        (out,) = cell.outputs
        image = PIL.Image.open(
            io.BytesIO(base64.b64decode(out["data"]["image/png"]))
        )
        shown.append((image.mode, image.size, out["metadata"]))
        dpis.append(image.info.get("dpi"))
    (mode0, size0, meta0), (mode1, size1, meta1), retina = shown
    assert (mode0, mode1, meta0, meta1) == ("RGBA", "RGB", {}, {})
    assert size1 == size0
    # The dpi sets the size LaTeX prints a figure at.
    assert dpis[0] is not None and dpis[1] == pytest.approx(dpis[0])
    mode2, (width, height), meta2 = retina
    assert mode2 == "RGB"
    assert meta2 == {"image/png": {"width": width // 2, "height": height // 2}}
