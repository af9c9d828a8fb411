"""What every benchmark script reports about the machine, and how it updates README.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The environment as the script found it, before any thread pinning it does.
ORIGINAL_ENV = dict(os.environ)


def run_quiet(cmd) -> str:
    """A command's stripped stdout, or "" if it fails (git or nproc may be absent)."""
    try:
        return subprocess.run(cmd, cwd=ROOT, env=ORIGINAL_ENV, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_facts(watched_paths) -> dict:
    """Date, cores, CPU model, memory, Python, load, and the commit (marked when any of
    ``watched_paths`` is modified in the working tree)."""
    model = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    dirty = run_quiet(["git", "status", "--porcelain", "--", *watched_paths])
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": run_quiet(["nproc"]) or str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "mem": f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "unknown",
        "python": platform.python_version(),
        "commit": (run_quiet(["git", "rev-parse", "--short", "HEAD"]) or "unknown")
                  + (f" ({', '.join(watched_paths)} modified in the working tree)" if dirty else ""),
        "load": load_average(),
    }


def load_average() -> str:
    return "%.2f / %.2f / %.2f" % os.getloadavg()


def write_section(readme: Path, start: str, end: str, section: str) -> None:
    """Replace the text between the ``start`` and ``end`` markers of ``readme`` (or append)."""
    block = f"{start}\n{section}\n{end}"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)
