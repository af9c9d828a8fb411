"""Privacy (issue #8 item 5): nothing tries to reach the network, and no output holds a
picture of anyone unless the user asks for one.

One guarded Python process runs, through the command line and the API, what a user runs:
``synchrony analyze`` on the bundled sample session (plain, then with ``--thumbnails``),
``analyze(..., annotated_video=True)`` on its first 8 s, and ``synchrony batch`` over a
video session (with the Face Landmarker backend, whose model ships in the package) and a
series session, in loky workers (new interpreters). A ``sitecustomize``
installed through PYTHONPATH, so in that process before anything is imported and in every
Python process it starts, records and refuses each creation of a socket that is not a Unix
socket and each name lookup. Where ``strace`` works, the whole process tree also runs under
it, which sees sockets made by native code (FFmpeg, mediapipe, TF-Lite) as well.

Controls show the guards catch what they should: after the runs, the same process tries
``urllib.request.urlopen`` and a loky worker opens a TCP socket (both recorded by the
Python guard); a socket made through ``_socket`` directly, which bypasses the Python
guard, is seen by strace.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from _batchgen import sample_clip, write_manifest
from conftest import REPO

SAMPLE = REPO / "sample_media" / "dyad_split.mp4"

# Documented figures (README: heatmap_*, lag_*, surrogates_*, signals_* per pair, overview.png);
# thumbnails.png only with --thumbnails.
FIGURE = re.compile(r"(heatmap|lag|surrogates|signals)_\w+_vs_\w+\.png|overview\.png")
# Every kind of file synchrony writes; a picture of a person could only hide in a PNG or a video.
SUFFIXES = {".csv", ".tsv", ".json", ".TextGrid", ".eaf", ".html", ".png", ".parquet", ".npz", ".log", ".lock"}
MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"\x1aE\xdf\xa3": "matroska/webm", b"GIF8": "gif",
         b"RIFF": "avi/wav"}

GUARD = '''
"""Installed by tests/test_privacy.py in every Python process of the guarded run: record
and refuse every non-Unix socket and every name lookup."""
import json, os, socket, traceback

_LOG = os.environ["SYNCHRONY_PRIVACY_LOG"]


def _record(what, detail):
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "what": what, "detail": repr(detail),
                             "stack": traceback.format_stack(limit=12)[:-2]}) + "\\n")


_init = socket.socket.__init__


def _socket_init(self, family=-1, type=-1, proto=0, fileno=None):
    # family -1 without a file descriptor means AF_INET; wrapping an existing descriptor
    # (accept, fromfd) needs a socket made before, which this already saw.
    kind = socket.AF_INET if family == -1 and fileno is None else family
    if fileno is None and kind != getattr(socket, "AF_UNIX", None):
        _record("socket", (kind, type))
        raise PermissionError(f"privacy guard: socket({kind!r}) refused")
    _init(self, family, type, proto, fileno)


def _refuse(name):
    def refused(*args, **kwargs):
        _record(name, args[:2])
        raise PermissionError(f"privacy guard: {name}{args[:2]!r} refused")
    return refused


socket.socket.__init__ = _socket_init
for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "create_connection"):
    setattr(socket, _name, _refuse(_name))
'''

RUNNER = '''
import os, shutil, sys, urllib.request
from pathlib import Path

work, sample, clip = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
log = Path(os.environ["SYNCHRONY_PRIVACY_LOG"])
from synchrony.cli import main

common = ["--video-rate-hz", "2", "--n-surrogates", "19", "--pairs", "head_motion~head_motion"]
main(["analyze", sample, *common, "--out", str(work / "plain")])
shutil.copytree(work / "plain" / ".synchrony-cache", work / "thumbs" / ".synchrony-cache")
main(["analyze", sample, *common, "--thumbnails", "--out", str(work / "thumbs")])

from synchrony.config import AnalysisConfig
from synchrony.pipeline import analyze

config = AnalysisConfig(window_s=1.5, step_s=0.5, max_lag_s=0.5, n_surrogates=19, video_rate_hz=5,
                        pairs=(("head_motion", "head_motion"),))
analyze(clip, config=config, out_dir=work / "video", annotated_video=True)
try:
    main(["batch", str(work / "study.csv"), "--out", str(work / "batch"), "--workers", "1", "--no-pseudo-dyads",
          "--window-s", "1.5", "--step-s", "0.5", "--max-lag-s", "0.5", "--n-surrogates", "19",
          "--video-rate-hz", "5", "--pairs", "head_motion~head_motion", "--face-backend", "landmarker"])
except SystemExit as exit:
    if exit.code:
        raise
if log.exists():
    log.rename(work / "runs.jsonl")

# Controls, after the runs: the guards must see these.
import _socket
_socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).close()  # bypasses the Python guard; strace sees it
try:
    urllib.request.urlopen("http://192.0.2.1/", timeout=1)  # TEST-NET-1: never routed
except Exception as exc:
    print("control main:", type(exc).__name__, exc)


def attempt():
    import socket
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    except OSError as exc:
        return os.getpid(), str(exc)
    return os.getpid(), "connected"


from joblib.externals.loky import get_reusable_executor

print("control worker:", get_reusable_executor(max_workers=1).submit(attempt).result(timeout=120))
log.rename(work / "controls.jsonl")
'''


def _strace():
    """The strace command prefix when strace can trace here, else None."""
    if shutil.which("strace") is None:
        return None
    base = ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=socket,connect", "-e", "signal=none"]
    probe = subprocess.run([*base, "-o", os.devnull, "true"], capture_output=True, timeout=60)
    return base if probe.returncode == 0 else None


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """Run everything once under the guards; the work folder and the runner's output."""
    work = tmp_path_factory.mktemp("privacy")
    guard = work / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    (work / "runner.py").write_text(RUNNER)
    clip = sample_clip(work / "clip.mp4", gops=2, audio=True)
    rng = np.random.default_rng(5)
    a = np.convolve(rng.standard_normal(420), np.ones(5) / 5, "same")[:400]
    series = np.column_stack([np.arange(400) / 10, a, np.roll(a, 5) + 0.3 * rng.standard_normal(400)])
    np.savetxt(work / "series.csv", series, delimiter=",", header="time_s,A.x,B.x", comments="", fmt="%.6f")
    write_manifest(work / "study.csv", [["video", "clip.mp4", "split", ""], ["series", "series.csv", "csv", 10]],
                   ["session_id", "video", "layout", "rate_hz"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard), os.environ.get("PYTHONPATH", "")]),
           "SYNCHRONY_PRIVACY_LOG": str(work / "attempts.jsonl")}
    trace = _strace()
    prefix = [*trace, "-o", str(work / "strace.txt")] if trace else []
    run = subprocess.run([*prefix, sys.executable, str(work / "runner.py"), str(work), str(SAMPLE), str(clip)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return work, run, trace is not None


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_nothing_tried_to_reach_the_network(guarded):
    work, run, _ = guarded
    attempts = _records(work / "runs.jsonl")
    assert attempts == [], "\n".join(f"{a['what']} {a['detail']}\n{''.join(a['stack'])}" for a in attempts)
    # the runs did what they were asked (the outputs are checked below)
    for name in ("plain", "thumbs", "video"):
        assert (work / name / "report.html").exists(), name
    sessions = (work / "batch" / "sessions.csv").read_text()
    assert sessions.count(",done,") == 2, sessions
    summary = json.loads((work / "batch" / "video" / "summary.json").read_text())
    assert summary["config"]["face_backend"] == "landmarker"


def test_the_guard_catches_attempts_in_the_process_and_in_its_workers(guarded):
    work, run, _ = guarded
    controls = _records(work / "controls.jsonl")
    worker_pid = int(re.search(r"control worker: \((\d+),", run.stdout).group(1))
    caught = {c["pid"] for c in controls if "192.0.2.1" in c["detail"]}
    assert worker_pid in caught and len(caught) == 2, controls  # the worker and the main process
    assert run.stdout.count("privacy guard") == 2, run.stdout  # the refusal reached both callers


def test_no_native_socket_either(guarded):
    """strace's record of every socket() and connect() of the process tree: Unix sockets
    only, and the one control socket made past the Python guard."""
    work, _, traced = guarded
    if not traced:
        pytest.skip("strace is not available or cannot trace here; the Python-level guard still ran")
    calls = [line for line in (work / "strace.txt").read_text().splitlines()
             if re.search(r"\b(socket|connect)\(", line)]
    unix = re.compile(r"socket\((AF_UNIX|AF_LOCAL)\b|connect\(\d+, \{sa_family=(AF_UNIX|AF_LOCAL)\b")
    others = [line for line in calls if not unix.search(line)]
    assert len(others) == 1 and "socket(AF_INET, SOCK_DGRAM" in others[0], others


def _files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name, pictures", [("plain", set()), ("thumbs", {"thumbnails.png"}),
                                            ("video", {"annotated.mp4"}), ("batch", set())])
def test_outputs_hold_no_pictures_unless_asked(guarded, name, pictures):
    """Every file is of a kind synchrony documents; the only PNGs are the documented figures
    (plus thumbnails.png when asked); the only video is annotated.mp4 when asked; the
    extraction cache holds one number per frame, never pixels."""
    work, _, _ = guarded
    found = set()
    for path in _files(work / name):
        if path.name in pictures:
            found.add(path.name)
            continue
        assert path.suffix in SUFFIXES, path
        head = path.read_bytes()[:12]
        kinds = [kind for magic, kind in MAGIC.items() if head.startswith(magic)]
        assert head[4:8] != b"ftyp" and kinds in ([], ["png"]), (path, kinds)
        if path.suffix == ".png":
            assert kinds == ["png"] and FIGURE.fullmatch(path.name), path
        if path.suffix == ".npz":
            with np.load(path) as data:
                shapes = {key: data[key].shape for key in data.files}
            assert all(len(shape) == 1 for shape in shapes.values()), (path, shapes)
    assert found == pictures


@pytest.mark.parametrize("name", ["plain", "thumbs", "video", "batch/video", "batch/series"])
def test_report_embeds_exactly_the_figures_written(guarded, name):
    """The report's images are the folder's PNG files byte for byte, each once: no frame or
    thumbnail that was not asked for, nothing fetched from elsewhere."""
    folder = guarded[0] / name
    page = (folder / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<video" not in page and "data:video" not in page
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in sources)
    figures = sorted(p.read_bytes() for p in folder.glob("*.png"))
    assert embedded == figures
    names = {p.name for p in folder.glob("*.png")}
    assert ("thumbnails.png" in names) == (name == "thumbs")
    assert all(FIGURE.fullmatch(n) for n in names - {"thumbnails.png"}), names

