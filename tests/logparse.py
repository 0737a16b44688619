"""Reading a course-format log back (`byhand.search.logformat`), for
the tests."""

from __future__ import annotations

import re
from typing import Any

from byhand.search.logformat import MANUAL_HEADER, SEPARATOR, SGD_HEADER

_LOSS = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{6})  \|  Epoch (\d+)  \|  Training loss "
    r"([-+0-9.eE]+|nan|inf)$"
)


def parse_log(text: str) -> list[dict[str, Any]]:
    """One dict per configuration: ``lr``, ``mom``, ``decay`` and, per
    block (``"sgd"``, ``"manual"``), ``{"losses": {epoch: loss},
    "train_acc", "val_acc"}``."""
    configs: list[dict[str, Any]] = []
    block: dict[str, Any] | None = None
    pending: str | None = None
    for line in text.splitlines():
        if line == SEPARATOR:
            configs.append({})
            block = None
        elif configs and (m := re.match(r"^(lr|mom|decay) =  (.+)$", line)):
            configs[-1][m.group(1)] = float(m.group(2))
        elif line in (SGD_HEADER, MANUAL_HEADER):
            if not configs:
                raise ValueError("log block found before any configuration")
            block = {"losses": {}}
            configs[-1]["sgd" if line == SGD_HEADER else "manual"] = block
        elif block is not None and (m := _LOSS.match(line)):
            block["losses"][int(m.group(2))] = float(m.group(3))
        elif line in ("Training", "Validation"):
            pending = line
        elif block is not None and line.startswith("Accuracy: "):
            key = "train_acc" if pending == "Training" else "val_acc"
            block[key] = float(line.removeprefix("Accuracy: "))
    return configs
