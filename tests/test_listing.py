"""byhand.report.listing: the chapters display the library's real source."""

from byhand import backpropagation
from byhand.report.listing import source


def test_source_is_the_functions_own_code():
    shown = source(backpropagation)._repr_markdown_()
    assert shown.startswith("```python\ndef backpropagation(")
    assert shown.endswith("```")
    assert "with torch.no_grad()" in shown
