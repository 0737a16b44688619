"""Figures for the chapters and the report, each a titled Figure.

Every axis is labelled and every title names the split it shows."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import PIL.Image
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from byhand.cifar import CIFAR10
from byhand.data import CatCarSplits
from byhand.search.results import SearchResult
from byhand.search.selection import seed_stats


def _show(ax: Axes, img: torch.Tensor) -> None:
    ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set(xticks=[], yticks=[])


def _panels(
    n: int, ncols: int, size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    """A grid of ``n`` panels of ``size`` inches; spare cells blank."""
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def _titled(fig: Figure, title: str) -> Figure:
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _label(row: pd.Series) -> str:
    return (
        f"lr={row['lr']:g}, mom={row['momentum']:g}, "
        f"wd={row['weight_decay']:g}"
    )


def sample_grid(
    raw: CIFAR10, splits: CatCarSplits, n_per_class: int = 6
) -> Figure:
    """Training images at 32x32 (top row of a pair) and 16x16 (below)."""
    y = splits.train.tensors[1]
    n = 2 * len(splits.classes) * n_per_class
    fig, axes = _panels(n, n_per_class, (1.3, 1.3))
    axes = np.reshape(axes, (-1, n_per_class))
    for c, name in enumerate(splits.classes):
        picks = torch.nonzero(y == c).flatten()[:n_per_class]
        for j, i in enumerate(picks):
            _show(axes[2 * c, j], raw.train_images[splits.index["train"][i]])
            _show(axes[2 * c + 1, j], splits.images["train"][i])
        for ax in axes[2 * c : 2 * c + 2, len(picks) :].flat:
            ax.axis("off")
        axes[2 * c, 0].set_ylabel(f"{name}\n32×32")
        axes[2 * c + 1, 0].set_ylabel(f"{name}\n16×16")
    return _titled(
        fig, "Sample train images per class, before and after resizing"
    )


def sgd_vs_manual(result: SearchResult) -> Figure:
    """Training loss per epoch of the course's settings, SGD and manual."""
    runs = result.grid_runs().query("source == 'course'")
    fig, axes = _panels(len(runs), 3, (4.0, 3.0))
    for ax, (_, row) in zip(axes, runs.iterrows(), strict=False):
        ep = result.epochs[result.epochs["run"] == row["run"]]
        x = ep["epoch"]
        ax.plot(x, ep["train_loss"], lw=3, alpha=0.5, label="torch.optim.SGD")
        ax.plot(x, ep["train_loss_manual"], "k--", lw=1, label="manual update")
        ax.set_title(_label(row), fontsize=10)
        ax.set(xlabel="epoch", ylabel="training loss")
    axes[0].legend(fontsize=9)
    return _titled(
        fig, "Mean training loss per epoch (training split): SGD vs manual"
    )


def learning_curves(result: SearchResult) -> Figure:
    """The selected run's loss and accuracy per epoch on the training and
    validation splits."""
    run = result.selected
    row = result.runs.set_index("run").loc[run]
    ep = result.epochs[result.epochs["run"] == run]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels = (
        ("Loss", "cross-entropy loss", "train_loss", "val_loss",
         "training (running mean)"),
        ("Accuracy", "accuracy", "train_acc_running", "val_acc",
         "training (running)"),
    )  # fmt: skip
    for ax, (title, ylabel, train_col, val_col, train_label) in zip(
        axes, panels, strict=True
    ):
        ax.plot(ep["epoch"], ep[train_col], label=train_label)
        ax.plot(ep["epoch"], ep[val_col], label="validation (end of epoch)")
        ax.set(xlabel="epoch", ylabel=ylabel, title=title)
        ax.legend()
    return _titled(
        fig,
        f"Learning curves of {run} ({_label(row)}), training "
        "and validation splits",
    )


def all_loss_curves(result: SearchResult, ymax: float = 1.0) -> Figure:
    """Training loss per epoch of every MyMLP run, one panel per lr, the
    y axis cut at ``ymax`` so that runs that blow up do not flatten the
    others (a diverged run's curve ends at its last finite epoch)."""
    runs = result.grid_runs().query("model == 'MyMLP'")
    lrs = sorted(runs["lr"].unique())
    fig, axes = _panels(len(lrs), min(3, len(lrs)), (3.4, 3.0))
    for ax, lr in zip(axes, lrs, strict=False):
        for _, row in runs[runs["lr"] == lr].iterrows():
            ep = result.epochs[result.epochs["run"] == row["run"]]
            label = f"mom {row['momentum']:g}, wd {row['weight_decay']:g}"
            if row["diverged"]:
                label += " (diverged)"
            style = "-" if row["source"] == "course" else "--"
            ax.plot(ep["epoch"], ep["train_loss"], style, label=label)
        ax.set(title=f"lr = {lr:g}", xlabel="epoch", ylim=(0, ymax),
               ylabel="mean training loss")  # fmt: skip
        ax.legend(fontsize=6)
    return _titled(
        fig,
        "Training loss of every configuration (training split; solid: "
        f"the course's settings; axis cut at {ymax:g})",
    )


def val_accuracy_heatmap(result: SearchResult) -> Figure:
    """Final validation accuracy over the grid; diverged cells marked."""
    runs = result.grid_runs().query("model == 'MyMLP'")
    mom = runs["momentum"].map("mom {:g}".format)
    runs = runs.assign(
        column=mom + runs["weight_decay"].map("\nwd {:g}".format)
    )
    cells = runs.pivot_table(
        index="lr",
        columns="column",
        values=["val_acc", "diverged"],
        aggfunc="first",
        dropna=False,
    )
    table = cells["val_acc"]
    diverged = cells["diverged"].eq(True)  # NaN (no such run): not diverged
    fig, ax = plt.subplots(figsize=(1.3 * table.shape[1] + 2, 4))
    im = ax.imshow(
        table.to_numpy(dtype=float),
        cmap="viridis",
        vmin=0.5,
        vmax=max(0.5, float(table.max().max())),
        aspect="auto",
    )
    for i, j in np.ndindex(table.shape):
        v, bold = table.iat[i, j], diverged.iat[i, j]
        if v != v and not bold:  # NaN: this combination was not trained
            continue
        text = "diverged" if bold else f"{v:.3f}"
        colour = "red" if bold else "white" if v < 0.7 else "black"
        ax.text(j, i, text, ha="center", va="center", fontsize=9,
                color=colour, fontweight="bold" if bold else None)  # fmt: skip
    ax.set_xticks(range(table.shape[1]), table.columns, fontsize=8)
    ax.set_yticks(range(table.shape[0]), [f"{v:g}" for v in table.index])
    ax.set(
        ylabel="learning rate",
        xlabel="momentum and weight decay",
        title="Validation accuracy after the last epoch (validation split)",
    )
    fig.colorbar(im, ax=ax, label="validation accuracy")
    fig.tight_layout()
    return fig


def confusion_matrix_figure(result: SearchResult) -> Figure:
    """The selected model's confusion matrix on the test split."""
    classes = result.meta["classes"]
    cm = result.test["confusion"]
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(cm, cmap="Blues")
    half = max(map(max, cm)) / 2
    for i, row in enumerate(cm):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=12,
                    color="white" if v > half else "black")  # fmt: skip
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted class", ylabel="true class",
           title="Confusion matrix (test split)")  # fmt: skip
    fig.tight_layout()
    return fig


def misclassified_gallery(
    result: SearchResult, splits: CatCarSplits, n: int = 12
) -> Figure:
    """The test images the selected model got wrong most confidently."""
    wrong = result.test["misclassified"][:n]
    fig, axes = _panels(max(len(wrong), 1), 6, (1.7, 2.3))
    for ax, item in zip(axes, wrong, strict=False):
        _show(ax, splits.images["test"][item["index"]])
        ax.set_title(
            f"true {item['true']}\npred. {item['predicted']} "
            f"({item['confidence']:.2f})",
            fontsize=8,
        )
    if not wrong:
        axes[0].text(
            0.5, 0.5, "no test image misclassified", ha="center", va="center"
        )
    return _titled(
        fig, "Most confident mistakes of the selected model (test split)"
    )


def seed_spread(result: SearchResult) -> Figure:
    """Validation accuracy of each seed (dots), per configuration and
    protocol, with mean ± sd (bars), against the gap from the runner-up
    mean to the best (grey band)."""
    stats = seed_stats(result.runs).query("n > 1")
    mlp = result.runs.query("model == 'MyMLP'")
    groups = mlp.groupby(["config", "protocol"])
    best = result.selected_row()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(stats) + 2.2))
    labels = []
    colours = {"plain": "tab:blue", "flip": "tab:orange", "shift": "tab:green"}
    for y, ((config, protocol), s) in enumerate(stats.iterrows()):
        seeds = groups.get_group((config, protocol))
        runs = seeds.dropna(subset=["val_acc"])  # a diverged seed: no dot
        c = colours.get(protocol, "black")
        ax.scatter(runs["val_acc"], [y] * len(runs), color=c, s=18, alpha=0.6)
        ax.errorbar(
            s["mean"], y, xerr=s["sd"], fmt="D", color=c, capsize=4, ms=6
        )
        row = seeds.iloc[0]  # the settings (every seed diverged: no dot)
        chosen = (config, protocol) == (best["config"], best["protocol"])
        labels.append(
            f"{'▶ ' if chosen else ''}{config} {protocol}: lr {row.lr:g}, "
            f"mom {row.momentum:g}, wd {row.weight_decay:g}"
        )
    means = sorted(stats["mean"], reverse=True)
    if len(means) > 1:
        ax.axvspan(means[1], means[0], color="grey", alpha=0.15,
                   label="gap: best to runner-up mean")  # fmt: skip
    for protocol, c in colours.items():
        ax.errorbar([], [], xerr=[], fmt="D", color=c,
                    label=f"{protocol}: mean ± sd over seeds")  # fmt: skip
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set(
        xlabel="validation accuracy (dots: one seed each)",
        ylabel="configuration and protocol",
        title="Seed noise against the gaps (validation split)",
    )
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def opaque_png() -> None:
    """This kernel's figures as RGB PNGs (opaque anyway): pdfLaTeX copies
    them as they are but decodes RGBA ones, 1.2 s a run for the report's."""
    from IPython import get_ipython

    if (shell := get_ipython()) is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        rgba = png.lookup_by_type(Figure)
    except KeyError:  # figures are not shown as PNG (yet) in this kernel
        return

    def rgb(fig: Figure) -> Any:
        out = rgba(fig)  # data, or (data, metadata) for retina figures
        data, meta = out if isinstance(out, tuple) else (out, None)
        encoded = isinstance(data, str)  # base64, as matplotlib_inline has it
        raw = base64.b64decode(data) if encoded else data
        image, buffer = PIL.Image.open(io.BytesIO(raw)), io.BytesIO()
        # The dpi sets the size LaTeX prints the figure at.
        image.convert("RGB").save(buffer, "png", dpi=image.info.get("dpi"))
        new = buffer.getvalue()
        new = base64.b64encode(new).decode() if encoded else new
        return new if meta is None else (new, meta)

    png.for_type(Figure, rgb)
