"""Where the README's first command spends its time, part by part.

    .venv/bin/python benchmarks/render_time.py [setup] [search] [render]

* ``setup``: ``scripts/setup.sh`` with the existing ``.venv`` (a no-op
  when it is up to date); ``fresh-setup`` makes a new venv in a temporary
  folder instead (uv when available, else pip), the fresh clone's case.
* ``search``: the experiment, cold (a new, empty results folder).
* ``render``: a warm ``quarto render`` (saved results; the chapters read
  from Quarto's execution cache when nothing changed since the last
  render), its output read as it comes, so each part is timed: Quarto's
  start, the pre- and post-render steps, every kernel start, every
  executed cell, pandoc and LaTeX.
* ``render-cold``: the same with the chapters' execution cache emptied
  first, as after a change to the package, the data or the results.

The default is ``setup render``.  The data and search settings come from
the environment as for any render (``CIFAR10_ROOT``, ``BYHAND_SEARCH``,
``BYHAND_RESULTS``); ``QUARTO`` names the quarto binary (else the one on
``PATH``).  Report the machine's load (printed) with the times.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from byhand.render.pre import INPUTS

ROOT = Path(__file__).resolve().parents[1]

# (pattern, label of the part that starts there); {0} is the match's
# first group.  A part lasts until the next event.
EVENTS = (
    (r"Running script '[^']*/([\w.]+)'", "script {0}"),
    (r"\[\d+/\d+\] (\S+)", "render {0}: Quarto reads it"),
    (r"Starting python3 kernel(?!\.*\(Notebook read)", "kernel start"),
    (r"\(Notebook read from cache\)", "read from the execution cache"),
    (r"Executing '([\w.]+)'", "{0}: kernel set-up"),
    (r"Cell \d+/\d+: '([^']+)'", "  cell {0}"),
    (r"Rendering PDF", "LaTeX: preparing"),
    (r"running (\w+latex) - (\d)", "LaTeX: {0} run {1}"),
    (r"Output created", "finishing"),
)
# Events that close a part, with the label of what follows them.
AFTER = (
    (r"Starting python3 kernel.*?Done\n", "after kernel start"),
    (r"Cell \d+/\d+: '[^']+'\.*Done", "pandoc, Quarto (after the cells)"),
)


def run_timed(cmd: list[str], cwd: Path) -> tuple[str, list, float]:
    """Run ``cmd``, echo its output; return it, when each byte came, total.

    ``ends`` lists ``(offset, seconds)``: the output up to ``offset`` had
    come ``seconds`` after the start.
    """
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    start, raw, ends = time.perf_counter(), b"", []
    while chunk := os.read(proc.stdout.fileno(), 65536):
        raw += chunk
        ends.append((len(raw), time.perf_counter() - start))
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode})")
    # Quarto's output is ASCII but for its colour codes, blanked out here
    # (same length): offsets in the text and in the bytes agree.
    text = raw.decode("ascii", errors="replace")
    text = re.sub(r"\x1b\[[0-9;]*m", lambda m: " " * len(m[0]), text)
    return text, ends, time.perf_counter() - start


def _time_at(offset: int, ends: list[tuple[int, float]]) -> float:
    """When the byte at ``offset`` (character offset, close enough) came."""
    for end, t in ends:
        if offset < end:
            return t
    return ends[-1][1] if ends else 0.0


def parts(text: str, ends: list[tuple[int, float]], total: float) -> list:
    """``[(label, seconds)]`` in order, from Quarto's output."""
    events = [(0.0, 0, "Quarto start")]  # (time, offset, label)
    for pattern, label in EVENTS:
        for m in re.finditer(pattern, text):
            at = _time_at(m.start(), ends)
            events.append((at, m.start(), label.format(*m.groups())))
    for pattern, label in AFTER:
        for m in re.finditer(pattern, text, re.S):
            events.append((_time_at(m.end() - 1, ends), m.end() - 1, label))
    # Output read in one piece shares a time: the text's order decides.
    events.sort(key=lambda e: (e[0], e[1]))
    events.append((total, len(text), "end"))
    return [
        (label, nxt - t)
        for (t, _, label), (nxt, _, _) in itertools.pairwise(events)
    ]


def summary(found: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds per kind of part (kernel starts, each document's cells...)."""
    out: dict[str, float] = {}
    document = "?"
    for label, seconds in found:
        if label.startswith("render "):
            document = label.split()[1].rstrip(":")
        if label.startswith("  cell") or label.endswith("kernel set-up"):
            key = f"execute {document}"
        elif label.startswith(("kernel start", "after kernel start")):
            key = "kernel starts (all)"
        elif label.startswith("read from the execution cache"):
            key = "chapters read from the execution cache"
        elif label.startswith("LaTeX"):
            key = "LaTeX"
        elif label.startswith("script"):
            key = label
        else:
            key = "Quarto and pandoc (the rest)"
        out[key] = out.get(key, 0.0) + seconds
    return out


def render() -> None:
    quarto = os.environ.get("QUARTO") or shutil.which("quarto")
    if not quarto:
        raise SystemExit("quarto not found: put it on PATH or set QUARTO")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    text, ends, total = run_timed([quarto, "render"], ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (
        before.ru_utime + before.ru_stime
    )
    found = parts(text, ends, total)
    print("\nwarm render, part by part (seconds):")
    for label, seconds in found:
        if seconds >= 0.05:
            print(f"  {seconds:6.1f}  {label}")
    print("\nby kind:")
    for key, seconds in sorted(summary(found).items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:6.1f}  {key}")
    print(f"  {total:6.1f}  TOTAL warm render (wall clock)")
    # On a busy machine the wall clock stretches; the CPU time much less.
    print(f"  {cpu:6.1f}  CPU time of the render's processes (user+sys)")


def render_cold() -> None:
    """A render whose chapters run (their execution cache emptied), as
    after a change to the package, the data or the results."""
    (ROOT / INPUTS).unlink(missing_ok=True)  # the pre-render empties it
    render()


def timed(name: str, cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    seconds = time.perf_counter() - start
    print(f"{name}: {seconds:.1f} s")
    return seconds


def fresh_setup() -> None:
    """scripts/setup.sh into a new venv (a copy of the project's files)."""
    with tempfile.TemporaryDirectory(prefix="byhand-setup-") as tmp:
        clone = Path(tmp) / "byhand"
        subprocess.run(
            ["git", "clone", "-q", str(ROOT), str(clone)], check=True
        )
        # The venv (which .venv links to) goes in the temporary folder too.
        env = {**os.environ, "BYHAND_VENVS": str(Path(tmp) / "venvs")}
        start = time.perf_counter()
        subprocess.run(["scripts/setup.sh"], cwd=clone, check=True, env=env)
        print(f"fresh set-up: {time.perf_counter() - start:.1f} s")


def search() -> None:
    with tempfile.TemporaryDirectory(prefix="byhand-search-") as tmp:
        env = {**os.environ, "BYHAND_RESULTS": tmp}
        cmd = [sys.executable, "-m", "byhand.search", "--no-progress"]
        cmd += ["--log", str(Path(tmp) / "log.txt")]
        timed("cold search", cmd, env)


def reference_seconds() -> float:
    """A fixed pure-Python loop, best of 3: the machine's speed now, so
    that timings from different hours can be compared (lower: faster)."""
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(3_000_000))
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str]) -> None:
    wanted = argv or ["setup", "render"]
    print(f"load average: {os.getloadavg()}, {os.cpu_count()} CPUs")
    print(f"reference loop: {reference_seconds():.3f} s (machine speed)")
    steps = {
        "setup": lambda: timed("set-up (existing venv)", ["scripts/setup.sh"]),
        "fresh-setup": fresh_setup,
        "search": search,
        "render": render,
        "render-cold": render_cold,
    }
    for name in wanted:
        if name not in steps:
            raise SystemExit(
                f"unknown part {name!r}; choose from {list(steps)}"
            )
        steps[name]()
    print(f"load average: {os.getloadavg()}")
    print(f"reference loop: {reference_seconds():.3f} s (machine speed)")


if __name__ == "__main__":
    main(sys.argv[1:])
