"""Tasks 8-10: train many configurations, select one, test it once.

``run.run_search`` is the search, ``python -m byhand.search`` its command
line; this file imports no more, as ``byhand.watch`` imports `logformat`.
"""

from byhand.search.configs import config_from_env

__all__ = ["config_from_env"]
