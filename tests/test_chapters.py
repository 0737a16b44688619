"""The literate sources: every .qmd runs top to bottom, every label exists.

Quarto is not needed: jupytext reads a .qmd as R Markdown (YAML header,
code cells, markdown cells) and nbclient executes it in a python3 kernel,
on a tiny synthetic CIFAR-10 and the tiny search profile.
"""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from byhand.data import write_synthetic_cifar10

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    ROOT / "chapters" / "backpropagation.qmd",
    ROOT / "chapters" / "gradient_descent.qmd",
    ROOT / "report.qmd",
]


def read_qmd(path: Path) -> nbformat.NotebookNode:
    # fmt="Rmd": a .qmd path would make jupytext call Quarto itself.
    return jupytext.reads(path.read_text(), fmt="Rmd")


@pytest.fixture(scope="module")
def tiny_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chapters")
    # 20 training and 5 test images per class: enough to split and train.
    write_synthetic_cifar10(tmp / "cifar", 20, 5)
    return {
        "CIFAR10_ROOT": str(tmp / "cifar"),
        "BYHAND_SEARCH": "tiny",
        "BYHAND_RESULTS": str(tmp / "results"),
        "BYHAND_CACHE": str(tmp / "cache"),
        "QUARTO_PROJECT_DIR": str(ROOT),
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_executes_without_error(path, tiny_env, monkeypatch):
    for key, value in tiny_env.items():
        monkeypatch.setenv(key, value)
    nb = read_qmd(path)
    assert any(c.cell_type == "code" for c in nb.cells)
    # Cells run in the chapter's folder, as Quarto runs them.
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    # Every fig- cell shows its figure (inline PNG, as Quarto needs it).
    for cell in nb.cells:
        if cell.cell_type == "code" and "label: fig-" in cell.source:
            kinds = [set(o.get("data", {})) for o in cell.outputs]
            assert any("image/png" in k for k in kinds), cell.source[:60]


def _labels(text: str) -> set[str]:
    cell = set(re.findall(r"^#\|\s*label:\s*([\w-]+)", text, re.M))
    inline = set(re.findall(r"\{#((?:fig|tbl|eq|sec)-[\w-]+)\}", text))
    return cell | inline


def test_every_reference_and_embed_points_at_a_label():
    labels = {p: _labels(p.read_text()) for p in SOURCES}
    report = ROOT / "report.qmd"
    embedded = set()
    for match in re.finditer(
        r"\{\{< embed ([\w/.]+)#([\w-]+) >\}\}", report.read_text()
    ):
        target = ROOT / match.group(1)
        assert target in labels, f"embed of unknown file {target}"
        assert match.group(2) in labels[target], match.group(0)
        embedded.add(match.group(2))
    for path in SOURCES:
        known = labels[path] | (embedded if path == report else set())
        refs = set(
            re.findall(r"@((?:fig|tbl|eq|sec)-[\w-]+)", path.read_text())
        )
        missing = refs - known
        assert not missing, f"{path.name}: undefined {sorted(missing)}"


def test_every_figure_and_table_is_referenced_in_the_text():
    report = (ROOT / "report.qmd").read_text()
    for path in SOURCES:
        text = path.read_text()
        for label in re.findall(
            r"^#\|\s*label:\s*((?:fig|tbl)-[\w-]+)", text, re.M
        ):
            assert f"@{label}" in text or f"@{label}" in report, label


def test_figures_and_tables_have_captions():
    for path in SOURCES:
        for cell in read_qmd(path).cells:
            if cell.cell_type != "code":
                continue
            m = re.search(r"#\|\s*label:\s*((fig|tbl)-[\w-]+)", cell.source)
            if m:
                assert f"#| {m.group(2)}-cap:" in cell.source, m.group(1)


def test_code_lines_fit_a_pdf_page():
    for path in SOURCES:
        for cell in read_qmd(path).cells:
            if cell.cell_type == "code":
                long = [ln for ln in cell.source.splitlines() if len(ln) > 79]
                assert not long, f"{path.name}: {long}"


def test_post_render_names_the_notebooks(tmp_path):
    import json
    import runpy

    collect = runpy.run_path(str(ROOT / "scripts" / "collect_notebooks.py"))
    (tmp_path / "chapters").mkdir()
    for name in ("backpropagation", "gradient_descent"):
        nb = nbformat.v4.new_notebook()
        nb.metadata = {}
        (tmp_path / "chapters" / f"{name}.out.ipynb").write_text(
            nbformat.writes(nb)
        )
    written = collect["collect"](tmp_path)
    assert [p.name for p in written] == [
        "backpropagation.ipynb",
        "gradient_descent.ipynb",
    ]
    meta = json.loads(written[0].read_text())["metadata"]
    assert meta["kernelspec"]["name"] == "python3"
