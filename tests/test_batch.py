"""Batch runs (issue 6): manifests, failure isolation, results equal to single-session runs,
resumption after a SIGKILL, dead workers, a Dask cluster, the study tables and the
study-level pseudo-dyad test.

The sessions are cut from real data: rMEA dyads (their first 60 s), and the first 8 s of
the bundled sample session with its audio, without it, and truncated (a corrupt file).
"""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _batchgen import install_faults, rmea_excerpt, sample_clip, write_manifest
from _mediagen import truncate
from synchrony.batch import THREAD_ENV, run_batch
from synchrony.config import AnalysisConfig
from synchrony.errors import InputFileError
from synchrony.manifest import discover_sessions, manifest_sessions, read_manifest

# Short windows so that 6 s recordings can be analysed (circular surrogates need more
# than 2 * (window + 2 * lag) = 5 s); few surrogates keep the tests fast.
# One pair for the videos: every pair costs five figures per session.
CONFIG = AnalysisConfig(window_s=1.5, step_s=0.5, max_lag_s=0.5, n_surrogates=19, video_rate_hz=10,
                        pairs=(("head_motion", "head_motion"),))
CLI_SETTINGS = ["--window-s", "1.5", "--step-s", "0.5", "--max-lag-s", "0.5", "--n-surrogates", "19"]
CLI_CONFIG = AnalysisConfig(window_s=1.5, step_s=0.5, max_lag_s=0.5, n_surrogates=19)  # the same settings
DYADS = ("200", "201", "202", "203")
COLUMNS = ["session_id", "subject", "session", "video", "layout", "person_a", "person_b", "group", "age_months",
           "episodes"]
RESULT_FILES = ("signals.csv", "xcorr.csv", "windows.csv", "mismatch.csv", "stats.csv", "summary.json")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def study(reference_dir, tmp_path_factory):
    """A study folder: six rMEA excerpts and three 8 s videos; the mixed manifest."""
    folder = tmp_path_factory.mktemp("study")
    for dyad in DYADS:
        rmea_excerpt(reference_dir / "rmea" / "normal" / f"{dyad}_01.txt", folder / f"d{dyad}.txt", n_samples=1500)
    sample_clip(folder / "with_audio.mp4", gops=2, audio=True)
    sample_clip(folder / "silent.mp4", gops=2, audio=False)
    truncate(folder / "with_audio.mp4", folder / "corrupt.mp4", 0.4)
    (folder / "episodes.csv").write_text("episode,start_s,end_s\nplay,0,30\nreunion,30,60\n")
    rows = [["v1", "01", "1", "with_audio.mp4", "split", "infant", "mother", "control", 4, ""],
            ["v2", "02", "1", "silent.mp4", "split", "infant", "mother", "control", 5, ""],
            ["v3", "03", "1", "corrupt.mp4", "split", "infant", "mother", "still", 6, ""]]
    rows += [[f"r{d}", f"1{d}", "1", f"d{d}.txt", "rmea", "", "", "still", "",
              "episodes.csv" if d == "200" else ""] for d in DYADS[:3]]
    write_manifest(folder / "study.csv", rows, COLUMNS)
    return folder


@pytest.fixture(scope="module")
def mixed(study, tmp_path_factory):
    """The six-session batch on the default pool (loky, 2 workers)."""
    out = tmp_path_factory.mktemp("mixed")
    return run_batch(study / "study.csv", out_dir=out, config=CONFIG, workers=2), out


def by_id(result):
    return result.sessions.set_index("session_id")


# --- acceptance: failure isolation, equal to single sessions ---------------------------

def test_batch_marks_exactly_the_corrupt_and_the_silent_session(mixed):
    result, out = mixed
    sessions = by_id(result)
    assert list(sessions.index) == ["v1", "v2", "v3", "r200", "r201", "r202"]
    assert sessions.loc["v3", "status"] == "failed"
    assert (sessions.drop(index="v3")["status"] == "done").all()
    reason = sessions.loc["v3", "reason"]
    assert "corrupt.mp4" in reason and "not a readable media file" in reason and "\n" not in reason
    # the recording without audio is analysed from video alone, and says so
    assert sessions.loc["v2", "audio"] == "none" and sessions.loc["v1", "audio"] == "per-person channels"
    warned = sessions["warnings"].fillna("") != ""
    assert list(sessions.index[warned]) == ["v2"]
    assert "silent.mp4" in sessions.loc["v2", "warnings"] and "no audio" in sessions.loc["v2", "warnings"]
    assert not result.ok
    # every face found in the sample clip; rMEA durations are 1500 samples at 25 Hz
    assert sessions.loc[["v1", "v2"], ["face_share_a", "face_share_b"]].to_numpy().min() == 1.0
    assert sessions.loc["r200", "duration_s"] == 60.0
    # BIDS-shaped output: sub-<subject>/ses-<session>/ and the dataset description
    assert sessions.loc["v1", "folder"] == "sub-01/ses-1"
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "synchrony"
    assert (out / "sub-03" / "ses-1" / "synchrony.log").read_text().count("not a readable media file") == 1


def test_video_sessions_equal_single_session_runs(study, mixed, tmp_path):
    from synchrony.pipeline import analyze
    from synchrony.session import Session

    result, out = mixed
    for sid, video in (("v1", "with_audio.mp4"), ("v2", "silent.mp4")):
        single = tmp_path / sid
        session = Session(layout="split", videos=str(study / video), persons=("infant", "mother"))
        analyze(session, config=dataclasses.replace(CONFIG, persons=("infant", "mother")), out_dir=single)
        folder = out / by_id(result).loc[sid, "folder"]
        for name in RESULT_FILES:
            assert (folder / name).read_bytes() == (single / name).read_bytes(), (sid, name)


def test_series_sessions_equal_the_xcorr_command(study, mixed, tmp_path):
    """rMEA sessions in a batch give byte for byte what `synchrony xcorr FILE` writes."""
    import logging

    from synchrony.cli import main

    result, out = mixed
    logger = logging.getLogger("synchrony")
    handlers, level = list(logger.handlers), logger.level
    try:
        for dyad in DYADS[:3]:
            episodes = ["--episodes", str(study / "episodes.csv")] if dyad == "200" else []
            main(["xcorr", str(study / f"d{dyad}.txt"), "--out", str(tmp_path / dyad), *CLI_SETTINGS, *episodes])
            folder = out / by_id(result).loc[f"r{dyad}", "folder"]
            for name in RESULT_FILES:
                assert (folder / name).read_bytes() == (tmp_path / dyad / name).read_bytes(), (dyad, name)
    finally:  # the command adds its stderr handler to the library logger
        logger.handlers[:], logger.level = handlers, level


def test_study_tables_hold_every_session_result(mixed):
    result, out = mixed
    done = by_id(result).query("status == 'done'")
    # synchrony.csv: one row per done session and pair, numbers as in its summary and stats
    assert set(result.synchrony["session_id"]) == set(done.index)
    for row in result.synchrony.itertuples():
        folder = out / done.loc[row.session_id, "folder"]
        pair = json.loads((folder / "summary.json").read_text())["pairs"][row.pair]
        stats = pd.read_csv(folder / "stats.csv").set_index("pair").loc[row.pair]
        assert row.mean_peak_r == pair["mean_peak_r"] and row.n_ruptures == pair["n_ruptures"]
        assert row.p_value == stats["p_value"] and row.q_value == stats["q_value"]
        assert row.cohens_d == stats["cohens_d"] and row.observed == stats["observed"]
        assert row.group == done.loc[row.session_id, "group"]
    pairs = result.synchrony.groupby("session_id")["pair"].apply(set)
    assert pairs["v1"] == pairs["v2"] == {"head_motion~head_motion"}
    assert pairs["r200"] == {"motion_energy~motion_energy"}
    # the sample's planted answer: B follows A by 0.5 s in head motion
    head = result.synchrony.set_index(["session_id", "pair"]).loc[("v1", "head_motion~head_motion")]
    assert head["median_peak_lag_s"] == pytest.approx(0.5)
    # mismatch.csv: every session's spans, in manifest order, with the session columns
    expected = [pd.read_csv(out / done.loc[s, "folder"] / "mismatch.csv").assign(session_id=s) for s in done.index]
    expected = pd.concat([e for e in expected if len(e)], ignore_index=True)
    assert len(result.mismatch) == len(expected)
    np.testing.assert_array_equal(result.mismatch["start_s"], expected["start_s"])
    assert list(result.mismatch["session_id"]) == list(expected["session_id"])
    assert {"group", "age_months", "subject", "session"} <= set(result.mismatch.columns)
    # episodes.csv: the per-episode summaries of the session that has episodes
    assert set(result.episodes["session_id"]) == {"r200"}
    summary = json.loads((out / done.loc["r200", "folder"] / "summary.json").read_text())
    expected = pd.DataFrame(summary["episodes"]["pairs"]["motion_energy~motion_energy"])
    assert list(result.episodes["episode"]) == list(expected["episode"])
    assert {"play", "reunion"} <= set(expected["episode"])
    np.testing.assert_array_equal(result.episodes["peak_r_mean"], expected["peak_r_mean"])
    # the files hold the returned tables (Parquet with their types; CSV as text)
    for name in ("sessions", "synchrony", "mismatch", "episodes", "pseudo_dyads", "pseudo_dyads_by_session"):
        table = getattr(result, name)
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), table, check_dtype=False)
        ids = {c: str for c in ("session_id", "subject", "session") if c in table.columns}
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{name}.csv", dtype=ids), table.replace({"": np.nan}),
                                      check_dtype=False)


def test_provenance_records_inputs_settings_and_single_threaded_workers(study, mixed):
    result, out = mixed
    for row in result.sessions.itertuples():
        prov = json.loads((out / row.folder / "provenance.json").read_text())
        assert prov["status"] == row.status and prov["session_id"] == row.session_id
        for item in prov["inputs"]:
            assert item["sha256"] == sha256(item["path"]) and item["size_bytes"] == os.path.getsize(item["path"])
        for item in prov["outputs"]:
            assert sha256(out / row.folder / item["path"]) == item["sha256"]
        assert prov["settings"]["config"] == CONFIG.to_dict() and prov["seed"] == 0
        assert prov["packages"]["synchrony"] == prov["synchrony_version"]
        assert prov["host"] == socket.gethostname() and prov["started_utc"] < prov["finished_utc"]
        assert prov["thread_env"] == THREAD_ENV  # the default pool's workers run single-threaded
    v1 = json.loads((out / "sub-01" / "ses-1" / "provenance.json").read_text())
    assert v1["inputs"][0]["duration_s"] == pytest.approx(192 * 1001 / 24000, abs=0.03)  # 192 frames


def test_pseudo_dyads_across_the_batch(mixed):
    from synchrony.analysis.stats import pseudo_dyad_test

    result, out = mixed
    # only motion energy has three or more sessions (the video pairs have two)
    assert list(result.pseudo_dyads["pair"]) == ["motion_energy~motion_energy"]
    dyads = []
    for sid in ("r200", "r201", "r202"):
        folder = out / by_id(result).loc[sid, "folder"]
        signals = pd.read_csv(folder / "signals.csv")
        dyads.append((signals["A.motion_energy"].to_numpy(), signals["B.motion_energy"].to_numpy()))
        rate_hz = json.loads((folder / "summary.json").read_text())["config"]["rate_hz"]  # from the file's times
    direct = pseudo_dyad_test(dyads, rate_hz, window_s=1.5, step_s=0.5, max_lag_s=0.5, seed=0)
    group = result.pseudo_dyads.iloc[0]
    assert group["n_real"] == 3 and group["n_pseudo"] == 6
    for key in ("mean_real", "mean_pseudo", "cohens_d", "p_value"):
        assert group[key] == pytest.approx(direct["group"][key], rel=1e-12)
    # each session's statistic is the one its own surrogate test used
    by_session = result.pseudo_dyads_by_session.set_index("session_id")
    observed = result.synchrony.set_index("session_id")["observed"]
    for sid in ("r200", "r201", "r202"):
        assert by_session.loc[sid, "observed"] == pytest.approx(observed[sid], rel=1e-12)


# Dask looks for this machine's address by opening a UDP socket towards a public one,
# which the test guard refuses; it then warns and uses the host name.
@pytest.mark.filterwarnings("ignore:Couldn't detect a suitable IP address:RuntimeWarning")
def test_dask_local_cluster_gives_identical_tables(study, mixed, tmp_path, monkeypatch):
    """The same batch through ``client.get_executor()`` on a LocalCluster of 2 workers.

    The cluster runs in this process (``processes=False``: in-process comms, no TCP
    connection); Dask still binds an HTTP listener, which is allowed on 127.0.0.1 only.
    """
    import _socket

    distributed = pytest.importorskip("distributed")

    def loopback_only(host, port, family=0, type=0, proto=0, flags=0):
        if host not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"synchrony tests: name lookup attempted ({host!r})")
        return [(socket.AddressFamily(af), socket.SocketKind(st), pr, cn, sa) for af, st, pr, cn, sa in
                _socket.getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)]

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    result, out = mixed
    loopback = dict(dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, **loopback) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.nthreads()) == 2
        on_dask = run_batch(study / "study.csv", out_dir=tmp_path, config=CONFIG, client=client)
    for name in ("synchrony", "mismatch", "episodes", "pseudo_dyads", "pseudo_dyads_by_session"):
        pd.testing.assert_frame_equal(getattr(on_dask, name), getattr(result, name))
        assert (tmp_path / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()
    timing = ["run_s", "cpu_s", "finished_utc"]
    pd.testing.assert_frame_equal(on_dask.sessions.drop(columns=timing), result.sessions.drop(columns=timing))
    for folder in result.sessions.query("status == 'done'")["folder"]:
        for name in RESULT_FILES:
            assert (tmp_path / folder / name).read_bytes() == (out / folder / name).read_bytes()


# --- resuming --------------------------------------------------------------------------

def _complete(path: Path) -> bool:
    """A file that parses to its end: tables, JSON, XML (ELAN), PNG; text ends its line."""
    import xml.etree.ElementTree as ET

    data = path.read_bytes()
    if path.suffix == ".png":
        return data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".json":
        json.loads(data)
    elif path.suffix == ".eaf":
        ET.parse(path)
    elif path.suffix in (".csv", ".tsv"):
        pd.read_csv(path, sep="," if path.suffix == ".csv" else "\t")
    return path.suffix in (".json", ".eaf", ".lock") or data.endswith(b"\n")


def test_killed_batch_reruns_only_unfinished_sessions(study, tmp_path):
    dyads = DYADS[:4]
    rows = [[f"r{d}", f"d{d}.txt", "rmea", "control"] for d in dyads]
    manifest = write_manifest(study / "kill.csv", rows, ["session_id", "video", "layout", "group"])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "synchrony.cli", "batch", str(manifest), "--out", str(out),
           "--workers", "1", "--no-pseudo-dyads", *CLI_SETTINGS]
    # its own process group, so that the kill takes the workers too, as a power cut would
    stderr = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)

    def finished():
        done = set()
        for path in out.glob("r*/provenance.json"):
            if json.loads(path.read_text())["status"] == "done":
                done.add(path.parent.name)
        return done

    deadline = time.monotonic() + 300
    while not finished() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stderr.close()
    before = finished()
    assert 1 <= len(before) < len(dyads), (before, (tmp_path / "stderr.txt").read_text()[-2000:])
    # no final file is truncated: temporary names aside, every file parses to its end,
    # and every finished session's outputs have the hashes its provenance recorded
    for path in out.rglob("*"):
        if path.is_file() and not (path.name.startswith(".") and path.name.endswith(".tmp")):
            assert _complete(path), path
    stamps = {}
    for sid in before:
        prov = json.loads((out / sid / "provenance.json").read_text())
        for item in prov["outputs"]:
            assert sha256(out / sid / item["path"]) == item["sha256"]
        stamps[sid] = {p.name: p.stat().st_mtime_ns for p in (out / sid).iterdir()}
    assert not (out / "sessions.csv").exists()  # the study tables come at the end

    rerun = run_batch(manifest, out_dir=out, config=CLI_CONFIG, pseudo_dyads=False)
    sessions = by_id(rerun)
    assert set(sessions.index[sessions["status"] == "skipped"]) == before
    assert set(sessions.index[sessions["status"] == "done"]) == {f"r{d}" for d in dyads} - before
    for sid in before:  # untouched
        assert {p.name: p.stat().st_mtime_ns for p in (out / sid).iterdir()} == stamps[sid]
    assert not list(out.rglob(".*.tmp"))


def test_only_new_or_changed_sessions_are_redone(study, tmp_path):
    """The key is the inputs' contents, the settings and the version, not names or times."""
    moved, touched = study / "moved.txt", study / "touched.txt"
    shutil.copy(study / "d200.txt", moved)
    shutil.copy(study / "d201.txt", touched)
    columns = ["session_id", "video", "layout"]
    one = write_manifest(study / "one.csv", [["a", "d200.txt", "rmea"], ["b", "d201.txt", "rmea"]], columns)
    out = tmp_path / "out"
    assert (run_batch(one, out_dir=out, config=CONFIG, pseudo_dyads=False).sessions["status"] == "done").all()
    # the same bytes under another name, a copy with a new time, and a new session
    two = write_manifest(study / "two.csv", [["a", "moved.txt", "rmea"], ["b", "touched.txt", "rmea"],
                                             ["c", "d202.txt", "rmea"]], columns)
    status = by_id(run_batch(two, out_dir=out, config=CONFIG, pseudo_dyads=False))["status"]
    assert status.to_dict() == {"a": "skipped", "b": "skipped", "c": "done"}
    prov = json.loads((out / "b" / "provenance.json").read_text())
    assert prov["inputs"][0]["mtime_ns"] == touched.stat().st_mtime_ns  # the new time is remembered
    # an edited recording is redone (and its old outputs replaced), the rest kept
    rmea_excerpt(study / "d200.txt", moved, n_samples=1400)
    second = by_id(run_batch(two, out_dir=out, config=CONFIG, pseudo_dyads=False))
    assert second["status"].to_dict() == {"a": "done", "b": "skipped", "c": "skipped"}
    assert second.loc["a", "duration_s"] == 56.0
    assert len(pd.read_csv(out / "a" / "signals.csv")) == 1400
    # other settings redo the session
    only_a = write_manifest(study / "only_a.csv", [["a", "moved.txt", "rmea"]], columns)
    third = run_batch(only_a, out_dir=out, config=dataclasses.replace(CONFIG, seed=1), pseudo_dyads=False)
    assert list(third.sessions["status"]) == ["done"]


# --- dead workers and plain bugs ---------------------------------------------------------

def test_dead_worker_marks_only_its_session_crashed(study, mixed, tmp_path):
    from joblib.externals.loky import ProcessPoolExecutor

    shutil.copy(study / "d200.txt", study / "crash_d.txt")
    shutil.copy(study / "d203.txt", study / "boom_d.txt")
    rows = [["r201", "d201.txt"], ["crash", "crash_d.txt"], ["boom", "boom_d.txt"]]
    manifest = write_manifest(study / "faults.csv", [[s, v, "rmea"] for s, v in rows],
                              ["session_id", "video", "layout"])
    pools = []

    def pool():  # a fresh pool whenever a dead worker broke the last one
        pools.append(ProcessPoolExecutor(max_workers=2, initializer=install_faults, env=THREAD_ENV))
        return pools[-1]

    result = run_batch(manifest, out_dir=tmp_path, config=CONFIG, executor=pool, workers=2, pseudo_dyads=False)
    sessions = by_id(result)
    assert sessions.loc["crash", "status"] == "crashed"
    reason = sessions.loc["crash", "reason"]
    assert "worker process died" in reason and "SIGKILL" in reason and "running this session alone" in reason
    assert sessions.loc["boom", "status"] == "failed"
    assert sessions.loc["boom", "reason"] == "internal error: RuntimeError: planted bug"
    assert "Traceback" in (tmp_path / "boom" / "synchrony.log").read_text()
    assert list(sessions.index[sessions["status"] == "done"]) == ["r201"]
    assert len(pools) >= 2  # the batch went on in a fresh pool
    # the survivors' results are those of the batch without faults
    mixed_result, mixed_out = mixed
    for sid in ("r201",):
        folder = mixed_out / by_id(mixed_result).loc[sid, "folder"]
        for name in RESULT_FILES:
            assert (tmp_path / sid / name).read_bytes() == (folder / name).read_bytes()
    prov = json.loads((tmp_path / "crash" / "provenance.json").read_text())
    assert prov["status"] == "crashed" and not list(tmp_path.rglob(".*.tmp"))
    for p in pools:
        p.shutdown(wait=True)


# --- manifests and the command line ------------------------------------------------------

def test_csv_and_yaml_manifests_give_the_same_sessions(tmp_path):
    (tmp_path / "rec").mkdir()
    write_manifest(tmp_path / "study.csv", [
        ["s1", "rec/a.mp4", "split", "infant", "mother", "control", "3.5"],
        ["s2", "rec/b1.mp4;rec/b2.mp4", "two-files", "infant", "mother", "still-face", ""],
    ], ["session_id", "video", "layout", "person_a", "person_b", "group", "age_months"])
    (tmp_path / "study.yaml").write_text(
        "defaults: {person_a: infant, person_b: mother}\n"
        "sessions:\n"
        "  - {session_id: s1, video: rec/a.mp4, layout: split, group: control, age_months: 3.5}\n"
        "  - {session_id: s2, video: [rec/b1.mp4, rec/b2.mp4], layout: two-files, group: still-face}\n")
    from_csv = manifest_sessions(read_manifest(tmp_path / "study.csv"))
    from_yaml = manifest_sessions(read_manifest(tmp_path / "study.yaml"))
    for a, b in zip(from_csv, from_yaml, strict=True):
        assert dataclasses.replace(a, attributes={}) == dataclasses.replace(b, attributes={})
        assert a.attributes["group"] == b.attributes["group"]
    s1, s2 = from_csv
    assert s1.files == (str(tmp_path / "rec" / "a.mp4"),) and s1.persons == ("infant", "mother")
    assert s2.files == (str(tmp_path / "rec" / "b1.mp4"), str(tmp_path / "rec" / "b2.mp4"))
    assert s2.offset_s is None  # two-files without an offset: estimated from the audio
    assert s1.attributes["age_months"] == 3.5 and np.isnan(s2.attributes["age_months"])
    assert s1.folder == "s1"


@pytest.mark.parametrize("rows, columns, message", [
    ([["s1", "a.mp4"]], ["session_id", "video"], "missing column 'layout'"),
    ([["s1", "a.mp4", "split"], ["s1", "b.mp4", "split"]], ["session_id", "video", "layout"],
     "row 2: session_id 's1' appears twice"),
    ([["s1", "a.mp4", "splt"]], ["session_id", "video", "layout"], "row 1: s1: unknown layout 'splt'"),
    ([["s1", "a.mp4", "two-files"]], ["session_id", "video", "layout"],
     "row 1: s1: layout 'two-files' takes 2 file(s) in 'video'"),
    ([["s 1", "a.mp4", "split"]], ["session_id", "video", "layout"], "row 1: session_id must be letters"),
    ([["s1", "a.mp4", "split", "2.0"]], ["session_id", "video", "layout", "offset_s"],
     "row 1: s1: offset_s applies to layout 'two-files' only"),
    ([["s1", "a.mp4", "split", "0-1"]], ["session_id", "video", "layout", "subject"],
     "row 1: s1: a BIDS sub label must be letters and digits only; got '0-1'"),
])
def test_bad_manifest_rows_are_one_line_errors_naming_file_and_row(tmp_path, rows, columns, message):
    path = write_manifest(tmp_path / "study.csv", rows, columns)
    with pytest.raises(InputFileError) as err:
        run_batch(path, out_dir=tmp_path / "out")
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_discover_reads_bids_labels_and_layout_from_the_folder(tmp_path):
    for sub, ses in (("01", "1"), ("01", "2"), ("02", "1")):
        folder = tmp_path / f"sub-{sub}" / f"ses-{ses}"
        folder.mkdir(parents=True)
        (folder / f"sub-{sub}_ses-{ses}_me.txt").write_text("a b\n1 2\n")
    (tmp_path / "notes.md").write_text("not a session")
    table = discover_sessions(tmp_path, pattern="*.txt", persons=("patient", "therapist"))
    assert list(table["session_id"]) == ["sub-01_ses-1_me", "sub-01_ses-2_me", "sub-02_ses-1_me"]
    assert list(table["subject"]) == ["01", "01", "02"] and list(table["session"]) == ["1", "2", "1"]
    specs = manifest_sessions(table)
    assert [s.folder for s in specs] == ["sub-01/ses-1", "sub-01/ses-2", "sub-02/ses-1"]
    assert {s.layout for s in specs} == {"rmea"} and specs[0].persons == ("patient", "therapist")


def test_command_line_exit_status_and_discover(study, tmp_path, capsys):
    import logging

    from synchrony.cli import main

    folder = tmp_path / "recordings"
    folder.mkdir()
    rmea_excerpt(study / "d200.txt", folder / "a.txt", n_samples=1000)
    (folder / "b.txt").write_text("pat th\n1 2\nx 3\n")
    logger = logging.getLogger("synchrony")
    handlers, level = list(logger.handlers), logger.level
    try:
        with pytest.raises(SystemExit) as exit_status:
            main(["batch", "--discover", str(folder), "--pattern", "*.txt", "--out", str(tmp_path / "out"),
                  *CLI_SETTINGS])
        assert exit_status.value.code == 3  # finished, but a session failed
        stdout = capsys.readouterr().out
        assert "2 sessions: 1 done, 0 skipped, 1 failed, 0 crashed" in stdout
        assert "b: failed:" in stdout and "non-numeric value 'x'" in stdout
        assert list(pd.read_csv(tmp_path / "out" / "sessions.csv")["status"]) == ["done", "failed"]
        # a bad manifest stops before anything runs: one line, exit 1
        bad = write_manifest(tmp_path / "bad.csv", [["s1", "a.mp4"]], ["session_id", "video"])
        with pytest.raises(SystemExit) as exit_status:
            main(["batch", str(bad), "--out", str(tmp_path / "o2")])
        assert exit_status.value.code == 1
        assert capsys.readouterr().err.strip() == (f"error: {bad}: missing column 'layout' (a manifest needs "
                                                   "session_id, video, layout)")
    finally:  # the command adds its stderr handler to the library logger
        logger.handlers[:], logger.level = handlers, level


def test_docstring_examples():
    import doctest

    import synchrony.batch
    import synchrony.manifest

    for module in (synchrony.manifest, synchrony.batch):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_study_index_links_every_report(mixed):
    """index.html links each done session's report.html; the failed one shows its reason."""
    import re

    result, out = mixed
    html = (out / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', html)
    done = by_id(result).query("status == 'done'")
    assert sorted(links) == sorted(f"{folder}/report.html".replace(" ", "%20") for folder in done["folder"])
    assert all((out / link.replace("%20", " ")).is_file() for link in links)
    failed = by_id(result).query("status == 'failed'")
    assert len(failed) == 1 and "not a readable media file" in html
