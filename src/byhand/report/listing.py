"""Show the library's real source in a chapter (never a second copy)."""

from __future__ import annotations

import inspect
from typing import Any


def source(obj: Any) -> Any:
    """The source of ``obj`` as a Markdown code block for the notebook."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
