"""byhand.render.check tells good rendered deliverables from broken ones.

Small fixtures stand in for a render: a PDF written by matplotlib, the
report's HTML cross-references, two chapters and their notebooks.  The
last test renders the real project with Quarto (skipped without it).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest
from matplotlib.figure import Figure
from synthetic import write_synthetic_cifar10

from byhand.render import check as co
from byhand.render import handin

ROOT = Path(__file__).resolve().parents[1]

CHAPTER = """---
title: "A chapter"
---

Text with @tbl-x.

```{python}
#| label: setup
#| include: false
import pandas as pd
```

```{python}
#| label: tbl-x
#| tbl-cap: "A table."
pd.DataFrame({"a": [1]})
```

```{python}
#| label: printing
x = 1
print(x)
```

```{python}
#| label: quiet
y = 2
```
"""
REPORT = "See @tbl-b and @fig-a.\n"
HTML = (
    '<a href="#tbl-b" class="quarto-xref">Table&nbsp;1</a> '
    '<a href="#fig-a" class="quarto-xref">Figure 1</a>'
    '<div id="tbl-b"><figure><table><tr><td>1</td></tr></table></figure>'
)
PDF_TEXT = "Table 1: A table.\nFigure 1: A figure.\nSee Table 1."


def write_pdf(path: Path, text: str) -> None:
    # TrueType fonts keep the text extractable (pdftotext and pypdf).
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = Figure(figsize=(6, 3))
        for i, line in enumerate(text.splitlines()):
            fig.text(0.05, 0.9 - 0.15 * i, line)
        fig.savefig(path)


def notebook(**change) -> nbformat.NotebookNode:
    table = {"text/html": "<table><tr><td>1</td></tr></table>"}
    cells = [
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell("import pandas as pd"),
        nbformat.v4.new_code_cell(
            'pd.DataFrame({"a": [1]})',
            outputs=[
                nbformat.v4.new_output(
                    "execute_result",
                    {**table, "text/plain": "a 1"},
                    execution_count=1,
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "x = 1\nprint(x)",
            outputs=[nbformat.v4.new_output("stream", text="1\n")],
        ),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    for key, value in change.items():
        if key == "outputs":
            nb.cells[2].outputs = value
        elif key == "markdown":
            nb.cells[0].source = value
        elif value is None:
            del nb.metadata[key]
        else:
            nb.metadata[key] = value
    return nb


@pytest.fixture
def rendered(tmp_path):
    project, out = tmp_path / "project", tmp_path / "_output"
    (project / "chapters").mkdir(parents=True)
    out.mkdir()
    (project / "report.qmd").write_text(REPORT)
    for name in co.NOTEBOOKS:
        (project / "chapters" / f"{name}.qmd").write_text(CHAPTER)
        nbformat.write(notebook(), out / f"{name}.ipynb")
    (out / "index.html").write_text(HTML)
    write_pdf(out / "report.pdf", PDF_TEXT)
    # The hand-in of this output (checked by byhand.render.handin).
    (project / "src" / "byhand").mkdir(parents=True)
    (project / "src" / "byhand" / "__init__.py").write_text('"""byhand"""')
    (project / "pyproject.toml").write_text('readme = "README.md"\n')
    (project / "requirements.lock").write_text("torch==2.14.1\n")
    handin.build(out, project)
    return project, out


def test_good_output_passes(rendered):
    project, out = rendered
    assert co.check(out, project) == []
    assert co.main([str(out), "--project", str(project)]) == 0


def test_pdf_text_without_pdftotext(rendered, monkeypatch):
    _, out = rendered
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "Figure 1: A figure." in co.pdf_text(out / "report.pdf")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (PDF_TEXT + "\n::: {#tbl-b .cell tbl-cap='A'}", "raw markup ':::'"),
        (PDF_TEXT + "\nSee ?@tbl-b.", "raw markup '?@'"),
        (PDF_TEXT + "\n#| label: tbl-b", "raw markup '#| '"),
        ("Table 1: A table.\nSee Figure 1.", "@fig-a: no caption"),
    ],
)
def test_broken_pdf_is_reported(rendered, text, problem, capsys):
    project, out = rendered
    write_pdf(out / "report.pdf", text)
    problems = co.check(out, project)
    assert any(problem in p for p in problems), problems
    assert co.main([str(out), "--project", str(project)]) == 1
    assert "problem:" in capsys.readouterr().out


def test_an_empty_embedded_table_in_the_html_is_reported(rendered):
    # Quarto 1.10 can embed a notebook's table as an empty box.
    project, out = rendered
    (out / "index.html").write_text(re.sub("<table>.*</table>", "", HTML))
    assert co.check(out, project) == ["index.html: @tbl-b shows no table"]


def test_unnumbered_reference_is_reported(rendered):
    project, out = rendered
    (out / "index.html").write_text(HTML.replace("Figure 1", "?@fig-a"))
    assert "@fig-a is not a numbered cross-reference" in co.check(out, project)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kernelspec": None}, "no python3 kernelspec"),
        (
            {
                "kernelspec": {
                    "display_name": "Python 3",
                    "name": "python3",
                    "path": "/somewhere",
                }
            },
            "kernelspec carries a path",
        ),
        ({"outputs": []}, "tbl-x shows no output"),
        (
            {
                "outputs": [
                    nbformat.v4.new_output(
                        "execute_result",
                        {"text/html": "</div>", "text/plain": "a 1"},
                        execution_count=1,
                    )
                ]
            },
            "tbl-x has no HTML <table> output",
        ),
        ({"markdown": "See @tbl-x."}, "unresolved Quarto markup @tbl-x"),
    ],
)
def test_broken_notebook_is_reported(rendered, change, problem):
    project, out = rendered
    nbformat.write(notebook(**change), out / "gradient_descent.ipynb")
    problems = co.check(out, project)
    assert any(problem in p for p in problems), problems


def test_machine_path_is_reported(rendered):
    project, out = rendered
    nb = notebook(markdown=f"Made in {project.resolve()}")
    nbformat.write(nb, out / "backpropagation.ipynb")
    assert any("machine path" in p for p in co.check(out, project))


def test_invalid_notebook_is_reported(rendered):
    project, out = rendered
    (out / "backpropagation.ipynb").write_text('{"cells": 3}')
    assert any("not valid nbformat 4" in p for p in co.check(out, project))


def test_missing_files_are_reported(rendered):
    project, out = rendered
    (out / "report.pdf").unlink()
    (out / "gradient_descent.ipynb").unlink()
    problems = co.check(out, project)
    assert "report.pdf is missing" in problems
    assert "gradient_descent.ipynb: missing" in problems


def test_which_cells_show_output():
    assert co.shows_output("#| label: tbl-x\ndf")
    assert co.shows_output("x = 1\nprint(x)")
    assert co.shows_output("source(f)")
    assert not co.shows_output("x = 1")
    assert not co.shows_output("#| include: false\nprint(1)")
    assert not co.shows_output("#| output: false\nx")


@pytest.mark.skipif(shutil.which("quarto") is None, reason="needs Quarto")
def test_whole_project_renders_and_passes_the_checker(tmp_path):
    # The real project, copied, rendered with the tiny search on a tiny
    # synthetic CIFAR-10: minutes, not the real search.
    project = tmp_path / "project"
    shutil.copytree(
        ROOT,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "_output", "results", "data", ".quarto",
            "*.quarto_ipynb*", "__pycache__", ".pytest_cache",
            ".jupyter_cache",
        ),
    )  # fmt: skip
    cifar = write_synthetic_cifar10(tmp_path / "cifar", 20, 5)
    env = {
        **os.environ,
        "CIFAR10_ROOT": str(cifar),
        "BYHAND_SEARCH": "tiny",
        "BYHAND_RESULTS": str(tmp_path / "results"),
        "BYHAND_CACHE": str(tmp_path / "cache"),
        # Quarto's kernel and scripts run in this Python, byhand installed.
        "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON", sys.executable),
    }

    def render() -> str:
        done = subprocess.run(
            ["quarto", "render"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "The following string was found" not in done.stderr
        assert co.check(project / "_output", project) == []
        return done.stdout + done.stderr

    # As scripts/render.sh does: the search first, then the render.
    search = [sys.executable, "-m", "byhand.search", "--no-progress"]
    subprocess.run(search, cwd=project, env=env, check=True, timeout=600)
    cached = "(Notebook read from cache)"
    assert cached not in render()
    # Nothing changed: both chapters come from the execution cache, and
    # the deliverables are as complete.
    assert render().count(cached) == 2
    # The results are gone: the chapters run again (and the search).
    shutil.rmtree(tmp_path / "results")
    assert cached not in render()


def _break(out: Path, project: Path, how: str) -> None:
    if how == "empty pdf":
        (out / "report.pdf").write_bytes(b"")
    elif how == "not a pdf":
        (out / "report.pdf").write_bytes(b"<html>an error page</html>")
    elif how == "damaged pdf":
        pdf = (out / "report.pdf").read_bytes()
        (out / "report.pdf").write_bytes(pdf[: len(pdf) // 3])
    elif how == "pdf is a folder":
        (out / "report.pdf").unlink()
        (out / "report.pdf").mkdir()
    elif how == "notebook not json":
        (out / "backpropagation.ipynb").write_text("{not json")
    elif how == "notebook not utf-8":
        (out / "backpropagation.ipynb").write_bytes(b'{"cells": "\xff\xfe"}')
    elif how == "notebook outputs not a list":
        nb = notebook()
        nb.cells[2]["outputs"] = "text"
        (out / "gradient_descent.ipynb").write_text(json.dumps(nb))
    elif how == "html not utf-8":
        (out / "index.html").write_bytes(b"\xff\xfe<a>")
    elif how == "no chapter":
        (project / "chapters" / "backpropagation.qmd").unlink()
    elif how == "no report.qmd":
        (project / "report.qmd").unlink()
    elif how == "no output folder":
        shutil.rmtree(out)


@pytest.mark.parametrize(
    "how",
    [
        "empty pdf",
        "not a pdf",
        "damaged pdf",
        "pdf is a folder",
        "notebook not json",
        "notebook not utf-8",
        "notebook outputs not a list",
        "html not utf-8",
        "no chapter",
        "no report.qmd",
        "no output folder",
    ],
)
def test_broken_input_is_a_problem_not_a_traceback(rendered, capsys, how):
    project, out = rendered
    _break(out, project, how)
    assert co.main([str(out), "--project", str(project)]) == 1
    printed = capsys.readouterr().out
    assert "problem:" in printed


def test_outside_the_project_a_missing_output_is_a_problem(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # no report.qmd here
    monkeypatch.delenv("QUARTO_PROJECT_DIR", raising=False)
    assert co.main(["_output"]) == 1
    assert "_output does not exist" in capsys.readouterr().out


FIGURE_CHAPTER = """```{python}
#| label: fig-a
#| fig-cap: "A figure."
plot()
```
"""


def _one_cell(tmp_path, outputs):
    qmd = tmp_path / "chapter.qmd"
    qmd.write_text(FIGURE_CHAPTER)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("plot()", outputs=outputs)]
    )
    return co.chapter_outputs(nb, qmd, "chapter.ipynb")


def test_each_output_check_fires(tmp_path):
    png = nbformat.v4.new_output(
        "display_data", {"image/png": "iVBORw0KGgo=", "text/plain": "<F>"}
    )
    text = nbformat.v4.new_output(
        "execute_result", {"text/plain": "<Figure>"}, execution_count=1
    )
    error = nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="", traceback=[]
    )
    assert _one_cell(tmp_path, [png]) == []
    assert _one_cell(tmp_path, [text]) == [
        "chapter.ipynb: fig-a has no PNG figure"
    ]
    assert _one_cell(tmp_path, [png, error]) == [
        "chapter.ipynb: fig-a raised ZeroDivisionError"
    ]
    assert _one_cell(tmp_path, []) == ["chapter.ipynb: fig-a shows no output"]


@pytest.mark.parametrize("markup", ["See @eq-loss.", "$$x$$ {#eq-loss}"])
def test_equation_markup_in_a_notebook_is_reported(rendered, markup):
    project, out = rendered
    nbformat.write(notebook(markdown=markup), out / "backpropagation.ipynb")
    assert any("unresolved Quarto markup" in p for p in co.check(out, project))


def test_another_kernel_is_reported(rendered):
    project, out = rendered
    spec = {"display_name": "R", "language": "R", "name": "ir"}
    nbformat.write(notebook(kernelspec=spec), out / "gradient_descent.ipynb")
    assert any("no python3 kernelspec" in p for p in co.check(out, project))
