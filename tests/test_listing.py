"""byhand.report.listing: the chapters display the library's real source."""

from byhand import backpropagation
from byhand.report.listing import module_table, source


def test_source_is_the_functions_own_code():
    shown = source(backpropagation)._repr_markdown_()
    assert shown.startswith("```python\ndef backpropagation(")
    assert shown.endswith("```")
    assert "with torch.no_grad()" in shown


def test_the_module_table_lists_public_modules_first(tmp_path):
    # Top level first, each package's __init__ before its modules, and
    # private modules after public ones, whatever the alphabet says.
    for rel in ("a.py", "_b.py", "c.py", "sub/__init__.py", "sub/_x.py",
                "sub/y.py"):  # fmt: skip
        path = tmp_path / rel
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'"""The module {rel}."""\n')
    table = module_table(tmp_path)
    assert list(table.index) == ["a", "c", "_b", "sub", "sub.y", "sub._x"]
    assert table.loc["sub._x", "what it holds"] == "The module sub/_x.py."
