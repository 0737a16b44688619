"""The literate sources: every .qmd runs top to bottom, every label exists.

Quarto is not needed: jupytext reads a .qmd as R Markdown (YAML header,
code cells, markdown cells) and nbclient executes it in a python3 kernel,
on a tiny synthetic CIFAR-10 and the tiny search profile.
"""

import os
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from synthetic import write_synthetic_cifar10
from test_report import inline_values_cell

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
    if path.name == "report.qmd":
        # Every inline `{python} x` value prints as plain text (test_report).
        nb.cells.append(inline_values_cell())
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
    # Quarto's #| option lines are not shown (the notebooks drop them).
    for path in SOURCES:
        for cell in read_qmd(path).cells:
            if cell.cell_type == "code":
                long = [
                    ln
                    for ln in cell.source.splitlines()
                    if len(ln) > 79 and not ln.startswith("#|")
                ]
                assert not long, f"{path.name}: {long}"


def test_every_option_is_on_one_line():
    # A tbl-cap over several #| lines breaks the table's div in Quarto
    # 1.10 (raw ":::" text, no number, "?@tbl-" references).
    for path in SOURCES:
        for cell in read_qmd(path).cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():
                if line.startswith("#|"):
                    assert re.match(r"#\| [\w-]+: \S", line), (
                        f"{path.name}: option continued or empty: {line!r}"
                    )


def test_chapters_keep_their_executed_notebook():
    for path in SOURCES[:2]:
        header = read_qmd(path).cells[0].source
        assert "keep-ipynb: true" in header, path.name


def _collect():
    from byhand.render import notebooks

    return vars(notebooks)


def _executed(tmp_path, name, outputs):
    """An executed notebook as Quarto keeps it (keep-ipynb: true)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            '---\ntitle: "Backpropagation by hand"\nsubtitle: "S2"\n---'
        ),
        nbformat.v4.new_code_cell(
            "#| label: tbl-x\n#| tbl-cap: A table.\ndf", outputs=outputs
        ),
        nbformat.v4.new_markdown_cell("See @tbl-x and @fig-none."),
    ]
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3",
            "name": "python3",
            "path": "/home/someone/venv",
        }
    }
    (tmp_path / "chapters").mkdir(exist_ok=True)
    path = tmp_path / "chapters" / f"{name}.quarto_ipynb"
    path.write_text(nbformat.writes(nb))
    return path


def test_post_render_builds_the_notebooks_from_the_executed_ones(tmp_path):
    html = {"text/html": "<table></table>", "text/plain": "df"}
    out = [nbformat.v4.new_output("execute_result", html, execution_count=1)]
    for name in ("backpropagation", "gradient_descent"):
        _executed(tmp_path, name, out)
    (tmp_path / "_output").mkdir()
    written = _collect()["collect"](tmp_path, tmp_path / "_output", 0.0)
    assert [p.name for p in written] == [
        "backpropagation.ipynb",
        "gradient_descent.ipynb",
    ]
    nb = nbformat.reads(written[0].read_text(), as_version=4)
    assert nb["metadata"]["kernelspec"] == {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    title, caption, code, text = nb["cells"]
    assert text["source"] == "See Table 1 and @fig-none."
    assert title["source"].startswith("# Backpropagation by hand")
    assert "---" not in title["source"]
    assert caption["source"] == "**Table 1.** A table."
    assert code["source"] == "df"
    assert code["metadata"]["label"] == "tbl-x"
    assert code["outputs"][0]["data"]["text/html"] == "<table></table>"
    nbformat.validate(nb)


def test_post_render_never_takes_a_stale_notebook(tmp_path):
    import os
    import time

    for name in ("backpropagation", "gradient_descent"):
        old = _executed(tmp_path, name, [])
        os.utime(old, (1000.0, 1000.0))  # from an earlier render
    (tmp_path / "_output").mkdir()
    with pytest.raises(SystemExit, match="no executed notebook"):
        _collect()["collect"](tmp_path, tmp_path / "_output", time.time())


def test_captions_read_as_quarto_wrote_them():
    # Quarto writes the options back as YAML: a caption with a colon is
    # quoted and its apostrophes doubled ('the course''s seed').
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "#| label: tbl-grid\n"
            "#| tbl-cap: 'The grid, from the course''s seed: lr, momentum'\n"
            "df"
        ),
        nbformat.v4.new_code_cell(
            "#| label: fig-loss\n#| fig-cap: The loss (training split).\nf"
        ),
    ]
    cells = _collect()["deliverable"](nb).cells
    assert [c.source for c in cells if c.cell_type == "markdown"] == [
        "**Table 1.** The grid, from the course's seed: lr, momentum",
        "**Figure 1.** The loss (training split).",
    ]


def test_post_render_takes_this_renders_newest_executed_notebook(tmp_path):
    from byhand.render.notebooks import newest_executed

    chapters = tmp_path / "chapters"
    chapters.mkdir()
    copies = [chapters / f"backpropagation.quarto_ipynb{s}"
              for s in ("_1", "", "_2")]  # fmt: skip
    for path, mtime in zip(copies, (100, 200, 300), strict=True):
        path.write_text("{}")
        os.utime(path, (mtime, mtime))
    assert newest_executed(chapters, "backpropagation", 150) == copies[2]
    with pytest.raises(SystemExit, match="no executed notebook"):
        newest_executed(chapters, "backpropagation", 400)


def test_pre_render_clears_executed_and_embedded_notebooks(tmp_path):
    from byhand.render import pre

    chapters, embed = tmp_path / "chapters", tmp_path / ".quarto" / "embed"
    (embed / "chapters").mkdir(parents=True)
    chapters.mkdir()
    stale = [
        chapters / "backpropagation.quarto_ipynb",
        chapters / "gradient_descent.quarto_ipynb_1",
        embed / "chapters" / "gradient_descent.embed.ipynb",
        embed / "report.embed.ipynb",
    ]
    for path in stale:
        path.write_text("{}")
    kept = [chapters / "backpropagation.qmd", tmp_path / ".quarto" / "xref"]
    for path in kept:
        path.write_text("kept")
    pre.clear(tmp_path)
    assert [p for p in stale if p.exists()] == []
    assert not embed.exists()
    assert all(p.read_text() == "kept" for p in kept)
    pre.clear(tmp_path)  # nothing to clear: no error


def test_post_render_counts_the_cells_from_one():
    # A notebook read from Quarto's execution cache counts from 2.
    from byhand.render.notebooks import deliverable

    def code(count):
        out = nbformat.v4.new_output(
            "execute_result", {"text/plain": "1"}, execution_count=count
        )
        cell = nbformat.v4.new_code_cell("1", execution_count=count)
        cell.outputs = [out]
        return cell

    nb = nbformat.v4.new_notebook()
    nb.cells = [code(2), nbformat.v4.new_markdown_cell("text"), code(3)]
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", execution_count=5))
    counts = [
        (c.execution_count, [o.execution_count for o in c.outputs])
        for c in deliverable(nb).cells
        if c.cell_type == "code"
    ]
    assert counts == [(1, [1]), (2, [2]), (3, [])]


def test_post_render_of_one_file_leaves_the_deliverables(
    tmp_path, monkeypatch
):
    # `quarto render report.qmd` or `quarto preview`: no chapter was
    # executed by this render, and that is no error.
    main = _collect()["main"]
    out = tmp_path / "_output"
    (out / "chapters").mkdir(parents=True)
    (out / "backpropagation.ipynb").write_text("earlier render")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUARTO_PROJECT_OUTPUT_DIR", str(out))
    monkeypatch.delenv("QUARTO_PROJECT_RENDER_ALL", raising=False)
    (out / "hand-in").mkdir()
    for pdf in (out / "report.pdf", out / "hand-in" / "report.pdf"):
        pdf.write_bytes(b"%PDF same")
    (out / "hand-in.zip").write_bytes(b"zip")
    main()
    assert (out / "backpropagation.ipynb").read_text() == "earlier render"
    assert (out / "hand-in.zip").exists()  # it still holds this report
    (out / "report.pdf").write_bytes(b"%PDF rendered again")
    main()  # an older report in the hand-in: nobody may upload it
    assert not (out / "hand-in").exists()
    assert not (out / "hand-in.zip").exists()
    monkeypatch.setenv("QUARTO_PROJECT_RENDER_ALL", "1")  # the whole project
    with pytest.raises(SystemExit, match="no executed notebook"):
        main()
