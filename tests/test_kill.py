"""Killed runs (issue #8 item 3): SIGKILL in the middle of ``synchrony analyze`` or
``synchrony batch`` leaves no half-written file under a name a later run reads, and the
re-run completes with the outputs of an uninterrupted run.

Each run is killed with its whole process group (as a power cut would: batch workers die
too), one kill per run, the next run starting on what the last one left: at a seeded
random time, right after the run's first output file appears, while a figure or the study
tables are being written. After every kill each file in the output folder is parsed to its
end (CSV, TSV, JSON, HTML, ELAN, TextGrid, PNG, Parquet, NPZ); a file may be incomplete
only under the temporary name of :func:`synchrony.formats.atomic_path`
(``.<name>.<random>.tmp``), which nothing reads. Inputs are cheap: the first 20 s of the
sample session analysed at 2 frames/s, and three 40 s CSV dyads in which B follows A by
0.5 s.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _batchgen import sample_clip, write_manifest

# Temporary names, as synchrony.batch_provenance.remove_temp knows them: atomic_path's
# ".<name>.<random>.tmp" and a batch session's log in progress ".synchrony.log.<pid>-<thread>.tmp".
TEMP = re.compile(r"\..+\.tmp")
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
SEED = 20240508
# Provenance fields that differ between two runs of the same session (when and where it ran).
VOLATILE = {"started_utc", "finished_utc", "run_s", "cpu_s", "pid"}
VOLATILE_COLUMNS = ["status", "run_s", "cpu_s", "finished_utc"]


def _cli(*args):
    return [sys.executable, "-m", "synchrony.cli", *map(str, args)]


def _analyze(clip, out):
    return _cli("analyze", clip, "--video-rate-hz", 2, "--n-surrogates", 19, "--pairs", "head_motion~head_motion",
                "--out", out)


def _batch(manifest, out):
    return _cli("batch", manifest, "--out", out, "--workers", 1, "--window-s", 4, "--step-s", 1, "--max-lag-s", 1,
                "--n-surrogates", 19)


class _Run:
    """A command in its own process group, polled every 5 ms."""

    def __init__(self, cmd, log: Path):
        self.log = log
        self.started_ns = time.time_ns()
        self.t0 = time.monotonic()
        with open(log, "wb") as stderr:
            self.proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)

    def elapsed(self):
        return time.monotonic() - self.t0

    def kill_when(self, condition, *, timeout_s=300) -> bool:
        """SIGKILL the group once ``condition(run)`` holds; False if the run ended first."""
        try:
            while self.proc.poll() is None and self.elapsed() < timeout_s:
                if condition(self):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
                    return True
                time.sleep(0.005)
            return False
        finally:
            self.stop()

    def finish(self, *, timeout_s=300):
        try:
            self.proc.wait(timeout=timeout_s)
        finally:
            self.stop()
        assert self.proc.returncode == 0, self.log.read_text(errors="replace")[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def wrote(self, folder: Path, pattern: str) -> bool:
        """A file matching ``pattern`` under ``folder`` was written since this run started."""
        for path in folder.glob(pattern):
            try:
                if path.stat().st_mtime_ns >= self.started_ns:
                    return True
            except FileNotFoundError:  # renamed away meanwhile
                pass
        return False


def _watched(cmd, out: Path, log: Path) -> dict:
    """Run ``cmd`` to completion; when each file under ``out`` first appeared (s)."""
    run, seen = _Run(cmd, log), {}
    while run.proc.poll() is None:
        for path in out.rglob("*") if out.exists() else ():
            seen.setdefault(str(path.relative_to(out)), run.elapsed())
        time.sleep(0.01)
    run.finish()
    return seen


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill_inputs")
    clip = sample_clip(folder / "clip.mp4", gops=5, audio=True)  # 20.02 s: the default windows need > 16 s
    rng = np.random.default_rng(SEED)
    for k in range(3):
        a = np.convolve(rng.standard_normal(420), np.ones(5) / 5, "same")[:400]
        b = np.roll(a, 5) + 0.3 * rng.standard_normal(400)  # B follows A by 5 samples = 0.5 s
        table = pd.DataFrame({"time_s": np.arange(400) / 10, "A.x": a, "B.x": b})
        table.to_csv(folder / f"d{k}.csv", index=False, float_format="%.6f")
    manifest = write_manifest(folder / "study.csv", [[f"s{k}", f"d{k}.csv", "csv", 10] for k in range(3)],
                              ["session_id", "video", "layout", "rate_hz"])
    return clip, manifest


@pytest.fixture(scope="module")
def chains(inputs, tmp_path_factory):
    """Both kill sequences at once (threads that wait on their processes): per command, what
    its chain returned, or the exception that ended it."""
    clip, manifest = inputs
    folders = {name: tmp_path_factory.mktemp(f"kill_{name}") for name in ("analyze", "batch")}
    with ThreadPoolExecutor(2) as pool:
        futures = {"analyze": pool.submit(_analyze_chain, clip, folders["analyze"]),
                   "batch": pool.submit(_batch_chain, manifest, folders["batch"])}
        return {name: f.exception() or f.result() for name, f in futures.items()}


def _chain(chains, name):
    outcome = chains[name]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


# --- what a killed run may leave -----------------------------------------------------------


class _Html(HTMLParser):
    pass


def _complete(path: Path):
    """Parse ``path`` to its end by its kind; fail on a kind synchrony does not write."""
    suffix = path.suffix
    if suffix in (".csv", ".tsv"):
        assert path.read_bytes().endswith(b"\n"), path
        pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".html":
        text = path.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), path
        _Html().feed(text)
    elif suffix == ".eaf":
        ET.parse(path)
    elif suffix == ".TextGrid":
        from synchrony.textgrid import read_textgrid

        read_textgrid(path)
    elif suffix == ".png":
        from PIL import Image

        assert path.read_bytes().endswith(PNG_END), path
        with Image.open(path) as image:
            image.load()
    elif suffix == ".parquet":
        pd.read_parquet(path)
    elif suffix == ".npz":
        with np.load(path) as data:
            [data[key] for key in data.files]
    elif suffix == ".log":
        assert path.read_bytes().endswith(b"\n"), path
    else:
        raise AssertionError(f"{path}: a kind of file synchrony does not write")


def _check_folder(out: Path) -> list[Path]:
    """Every file parses to its end, except temporary ones (returned)."""
    temps = []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        if TEMP.fullmatch(path.name):
            temps.append(path)
        elif path.name == ".synchrony-batch.lock":
            assert path.stat().st_size == 0
        else:
            assert not path.name.startswith("."), f"{path}: an unexpected hidden file"
            _complete(path)
    return temps


def _assert_same_files(files: dict, expected: dict, skip=()):
    assert sorted(files) == sorted(expected)
    differing = [name for name in files if name not in skip and files[name] != expected[name]]
    assert differing == [], f"differ from the uninterrupted run: {differing}"


def _outputs(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _tracks(cache: Path) -> dict:
    out = {}
    for manifest in sorted(cache.glob("*/manifest.json")):
        entry = json.loads(manifest.read_text())
        for person, name in entry["files"].items():
            with np.load(manifest.parent / name) as data:
                out[manifest.parent.name, entry["key"], person] = {k: data[k] for k in data.files}
    return out


def _analyze_chain(clip, folder: Path) -> dict:
    """An uninterrupted run; three runs into one folder, each killed; the re-run."""
    reference, out = folder / "reference", folder / "out"
    seen = _watched(_analyze(clip, reference), reference, folder / "reference.log")
    # A seeded time before the reference run wrote its first output: in the extraction or
    # while its cache is written.
    kill_at_s = np.random.default_rng(SEED).uniform(0.2, 0.9) * seen["signals.csv"]
    moments = {
        f"at {kill_at_s:.2f} s": lambda run: run.elapsed() >= kill_at_s,
        "right after the first output file appears": lambda run: run.wrote(out, "signals.csv"),
        "while overview.png is being written": lambda run: run.wrote(out, ".overview.png.*.tmp"),
    }
    left = []
    for what, condition in moments.items():
        run = _Run(_analyze(clip, out), folder / "run.log")
        assert run.kill_when(condition), f"the run ended before it was killed {what}"
        left += _check_folder(out)
    _Run(_analyze(clip, out), folder / "rerun.log").finish()
    return {"reference": reference, "out": out, "left": set(left)}


def test_killed_analyze_reruns_to_the_uninterrupted_outputs(chains):
    chain = _chain(chains, "analyze")
    reference, out = chain["reference"], chain["out"]
    assert any(p.name.startswith(".overview.png.") for p in chain["left"])  # a figure caught half-written
    _assert_same_files(_outputs(out), _outputs(reference))
    cached, expected = _tracks(out / ".synchrony-cache"), _tracks(reference / ".synchrony-cache")
    assert cached.keys() == expected.keys() and len(cached) == 4  # faces and voice, two persons each
    for key, arrays in expected.items():
        assert cached[key].keys() == arrays.keys()
        for name, values in arrays.items():
            np.testing.assert_array_equal(cached[key][name], values)
    # Temporary files are only what the kills left (analyze leaves other runs' alone), and
    # nothing read them: every output above is the reference's, byte for byte.
    assert {p for p in out.rglob("*") if p.is_file() and TEMP.fullmatch(p.name)} <= chain["left"]


def _finished(out: Path) -> dict:
    """Sessions whose provenance says done: name -> mtime of each file in their folder.
    Each record describes complete files: every output it lists has its recorded hash."""
    import hashlib

    done = {}
    for record_path in sorted(out.glob("*/provenance.json")):
        record = json.loads(record_path.read_text())
        folder = record_path.parent
        for item in record["outputs"]:
            assert hashlib.sha256((folder / item["path"]).read_bytes()).hexdigest() == item["sha256"], item
        if record["status"] == "done":
            done[folder.name] = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    return done


def _without(record: dict) -> dict:
    record = {k: v for k, v in record.items() if k not in VOLATILE}
    # the session's own log has timestamps in it
    record["outputs"] = [o for o in record["outputs"] if o["path"] != "synchrony.log"]
    return record


def _log_messages(path: Path) -> list[str]:
    return [line.split(" ", 2)[2] for line in path.read_text().splitlines()]  # "<date> <time> LEVEL message"


def _batch_chain(manifest, folder: Path) -> dict:
    """An uninterrupted batch; three batches into one folder, each killed; the re-run."""
    reference, out = folder / "reference", folder / "out"
    seen = _watched(_batch(manifest, reference), reference, folder / "reference.log")
    last_record_s = max(t for name, t in seen.items() if name.endswith("provenance.json"))
    kill_at_s = np.random.default_rng(SEED + 1).uniform(0.2, 0.9) * last_record_s
    moments = {
        "right after a session's first output file appears": lambda run: run.wrote(out, "s*/*.csv"),
        f"at {kill_at_s:.2f} s (or once it writes the study tables)":
            lambda run: run.elapsed() >= kill_at_s or run.wrote(out, "*.csv"),
        "while the study tables are written": lambda run: run.wrote(out, "*.csv") or run.wrote(out, ".*.csv.*.tmp"),
    }
    kept = {}  # sessions finished before a run, and the times of their files
    for what, condition in moments.items():
        before = _finished(out) if out.exists() else {}
        run = _Run(_batch(manifest, out), folder / "run.log")
        assert run.kill_when(condition), f"the run ended before it was killed {what}"
        _check_folder(out)
        for sid, files in {**_finished(out), **before}.items():
            kept.setdefault(sid, files)
    assert len(kept) == 3  # the last kill came after every session was done
    assert not (out / "batch.json").exists()  # written last, after the study tables
    _Run(_batch(manifest, out), folder / "rerun.log").finish()
    return {"reference": reference, "out": out, "kept": kept}


def test_killed_batch_resumes_to_the_uninterrupted_tables(chains):
    chain = _chain(chains, "batch")
    reference, out = chain["reference"], chain["out"]
    assert not list(out.rglob(".*.tmp"))  # the re-run removed what the kills left
    sessions = pd.read_csv(out / "sessions.csv")
    assert set(sessions["status"]) == {"skipped"}  # resumed: nothing done again
    for sid, files in chain["kept"].items():  # not even touched
        now = {p.name: p.stat().st_mtime_ns for p in (out / sid).iterdir()}
        assert now == files, (sid, {n for n in now.keys() | files.keys() if now.get(n) != files.get(n)})

    expected = pd.read_csv(reference / "sessions.csv")
    assert set(expected["status"]) == {"done"}
    pd.testing.assert_frame_equal(sessions.drop(columns=VOLATILE_COLUMNS), expected.drop(columns=VOLATILE_COLUMNS))
    for name in ("synchrony.csv", "mismatch.csv", "pseudo_dyads.csv", "pseudo_dyads_by_session.csv",
                 "synchrony.parquet", "mismatch.parquet", "pseudo_dyads.parquet"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    # the index says how each session's result came about: the only difference
    index = (out / "index.html").read_text().replace("<td>skipped</td>", "<td>done</td>")
    assert index.replace("3 session(s): 3 skipped.", "3 session(s): 3 done.") == (reference / "index.html").read_text()
    assert pd.read_csv(out / "synchrony.csv")["median_peak_lag_s"].tolist() == [0.5, 0.5, 0.5]  # planted
    batch, batch_ref = (json.loads((d / "batch.json").read_text()) for d in (out, reference))
    assert batch.pop("counts") == {"done": 0, "skipped": 3, "failed": 0, "crashed": 0}
    assert batch_ref.pop("counts") == {"done": 3, "skipped": 0, "failed": 0, "crashed": 0}
    for record in (batch, batch_ref):
        del record["started_utc"], record["finished_utc"]
    assert batch == batch_ref
    for sid in ("s0", "s1", "s2"):
        files, expected_files = _outputs(out / sid), _outputs(reference / sid)
        _assert_same_files(files, expected_files, skip={"provenance.json", "synchrony.log"})
        assert _without(json.loads(files["provenance.json"])) == _without(json.loads(expected_files["provenance.json"]))
        assert _log_messages(out / sid / "synchrony.log") == _log_messages(reference / sid / "synchrony.log")
