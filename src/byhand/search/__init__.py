"""Tasks 8-10: train many configurations, select one, test it once.

``python -m byhand.search`` runs it.  ``run_search`` is imported on first
use, so that importing ``logformat`` does not import the whole search."""

from typing import TYPE_CHECKING, Any

from byhand.search.configs import config_from_env

if TYPE_CHECKING:  # at run time: on first use (see __getattr__)
    from byhand.search.run import run_search

__all__ = ["config_from_env", "run_search"]


def __getattr__(name: str) -> Any:
    if name != "run_search":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from byhand.search.run import run_search

    return run_search
