"""report.html and index.html: content with known answers, offline-ness, and a real browser.

The browser test drives Debian's headless Chromium over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4, no socket), gives it only
file:// URLs, and checks what it rendered: every image decoded at its size, the tables
in the DOM, no console error, no request other than file: and data:.
"""

import base64
import dataclasses
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from synchrony import __version__
from synchrony.config import AnalysisConfig
from synchrony.errors import InputFileError, ParameterError
from synchrony.pipeline import analyze_signals
from synchrony.report.figures import session_overview, signals_with_mismatch, xcorr_heatmap
from synchrony.report.html import (render_index, render_report, report_figures, study_index_rows,
                                   write_index, write_report)
from synchrony.simulate import simulate_dyad

PERSONS = ("<b>&", "mother")  # A's label is markup on purpose: it must come out as text
LAG_S = 0.5
PLANTED_SPAN_S = (40.0, 70.0)
EPISODES = [("play", 0.0, 60.0), ("still-face", 60.0, 120.0)]
FACTS = {"file": "dyad <1>.mp4", "files": ["dyad <1>.mp4", "mother.mp4"], "layout": "two-files",
         "persons": list(PERSONS), "duration_s": 120.0, "video_fps_average": 25.0, "offsets_s": [0.0, 1.5],
         "offset_estimate": {"offset_s": 1.5, "confidence": 12.3, "reliable": True},
         "audio": "per-person channels", "face_detected_share": {"<b>&": 0.75, "mother": 1.0}}


# --- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def result():
    """120 s at 10 Hz: B follows A by 0.5 s except 40-70 s; with planted quality columns."""
    sim = simulate_dyad(duration_s=120, rate_hz=10, lag_s=LAG_S, coupling=0.8, mismatch_spans_s=[PLANTED_SPAN_S],
                        persons=PERSONS, seed=4)  # seed 4: the bootstrap names A (CI of the lead 0.19 to 0.39)
    signals = sim.signals.copy()
    a, b = PERSONS
    t = signals.index.to_numpy()
    signals[a, "voiced"] = (t < 30).astype(float)           # 25% of the session
    signals[b, "voice_active"] = (t >= 60).astype(float)    # 50%
    signals.loc[(t >= 100) & (t < 106), (a, "x")] = np.nan  # 60 of 1200 samples missing: 95% present
    config = AnalysisConfig(pairs=(("x", "x"),), n_surrogates=49, persons=PERSONS)
    return analyze_signals(signals, config=config, session=dict(FACTS), episodes=EPISODES)


def _figures(result, png_dir):
    """Four figures given the three ways: Figures, PNG bytes, a PNG path."""
    a, b = PERSONS
    overview = session_overview(result.signals, features=["x"], persons=list(PERSONS), mismatch=result.mismatch)
    signals_png = io.BytesIO()
    signals_with_mismatch(result.signals[a, "x"], result.signals[b, "x"], result.mismatch,
                          labels=PERSONS).savefig(signals_png, format="png")
    lag = Figure(figsize=(4, 3), dpi=50)
    lag.add_subplot().plot([0, 1], [1, 0])
    lag_path = png_dir / "lag_x_vs_x.png"
    lag.savefig(lag_path, format="png")
    return {"overview": overview, "heatmap_x_vs_x.png": xcorr_heatmap(result.xcorr_wide["x~x"]),
            "signals_x_vs_x": signals_png.getvalue(), "lag_x_vs_x": lag_path}


# Pixel sizes of the figures above, from their figsize x dpi (figures.py defaults:
# heatmap 6x5 in, signals 10x3.2 in, at 100 dpi).
def _expected_sizes(result):
    overview = session_overview(result.signals, features=["x"], persons=list(PERSONS))
    w, h = overview.get_size_inches() * overview.dpi
    return {"overview": (round(w), round(h)), "heatmap_x_vs_x": (600, 500), "signals_x_vs_x": (1000, 320),
            "lag_x_vs_x": (200, 150)}


@pytest.fixture(scope="module")
def figures(result, tmp_path_factory):
    return _figures(result, tmp_path_factory.mktemp("png"))


@pytest.fixture(scope="module")
def page(result, figures):
    return render_report(result, figures=figures)


class _Page(HTMLParser):
    """Tables (by id) as rows of cell texts, list items, images' attributes, links, start tags."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.images, self.tags, self.links, self.items = {}, [], [], [], []
        self._table = self._row = self._cell = self._item = None
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "a":
            self.links.append(attrs.get("href"))
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = self._row = None
        elif tag == "li":
            self.items.append("".join(self._item))
            self._item = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self._item.append(data)


def _column(table, name):
    head, *rows = table
    i = head.index(name)
    return [row[i] for row in rows]


# --- content --------------------------------------------------------------------------

def test_every_figure_is_a_png_data_uri_of_the_figures_size_overview_first(result, page):
    images = _Page(page).images
    expected = _expected_sizes(result)
    # overview first, then the pair's figures in the order given
    assert [img["alt"] for img in images] == [
        "All signals on one time axis, mismatch spans shaded",
        "Windowed cross-correlation: window start down, lag across; positive lag = B follows A (x~x)",
        "Both signals over time, mismatch spans shaded (x~x)", "Synchrony by lag, averaged over windows (x~x)"]
    for img, name in zip(images, ["overview", "heatmap_x_vs_x", "signals_x_vs_x", "lag_x_vs_x"]):
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        png = base64.b64decode(img["src"][len(prefix):], validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(io.BytesIO(png)) as im:
            im.verify()
        with Image.open(io.BytesIO(png)) as im:
            assert im.size == expected[name], name
        assert (int(img["width"]), int(img["height"])) == expected[name]


def test_mismatch_spans_are_listed_with_mm_ss_s_timestamps(result, page):
    spans = _Page(page).tables["mismatch"]
    assert len(spans) == 1 + len(result.mismatch) >= 2
    # the planted 40-70 s stretch is found, cut at the episode boundary at 60 s
    starts = [s for s, f in zip(result.mismatch["start_s"], result.mismatch["features"]) if f == "x~x"]
    assert min(starts) < PLANTED_SPAN_S[0] + 5 and max(result.mismatch["end_s"]) > PLANTED_SPAN_S[1] - 5
    assert "01:00.0" in _column(spans, "start") and "01:00.0" in _column(spans, "end")
    assert _column(spans, "episode") == list(result.mismatch["episode"])

    # hand-written times: rounding half up to the tenth as the numbers are written
    hand = pd.DataFrame({"start_s": [34.25, 59.96, 65.05, 3725.44], "end_s": [40.0, 61.0, 70.0, 3730.0],
                         "duration_s": [5.75, 1.04, 4.95, 4.56], "features": ["x~x"] * 4,
                         "kind": ["chance", "negative", "chance", "chance"],
                         "active": ["<b>&", "mother", "<b>&+mother", ""],
                         "not_following": ["mother", "<b>&", "", ""], "strength": [0.2] * 4,
                         "p_value": [0.01, 0.02, np.nan, 0.04], "rupture": [True, False, False, True],
                         "repaired": [True, False, False, False], "repair_time_s": [7.5, np.nan, np.nan, np.nan]})
    table = _Page(render_report(dataclasses.replace(result, mismatch=hand), figures={})).tables["mismatch"]
    assert _column(table, "start") == ["00:34.3", "01:00.0", "01:05.1", "62:05.4"]
    assert _column(table, "end") == ["00:40.0", "01:01.0", "01:10.0", "62:10.0"]
    assert _column(table, "kind") == ["chance", "negative", "chance", "chance"]
    assert _column(table, "active (bid)") == ["<b>&", "mother", "<b>&+mother", ""]
    assert _column(table, "p") == ["0.01", "0.02", "—", "0.04"]
    assert _column(table, "rupture") == ["yes", "no", "no", "yes"]
    assert _column(table, "repair time (s)") == ["7.5", "—", "—", "—"]


def test_pair_summary_recovers_the_planted_lag_and_leader(result, page):
    parsed = _Page(page)
    table = parsed.tables["pairs"]
    s = result.summary["pairs"]["x~x"]
    row = dict(zip(table[0], table[1]))
    assert row["pair"] == "x~x"
    assert row["median peak lag (s)"] == "+0.50"          # the planted 0.5 s, B following A
    assert row["leader"] == "<b>&"                         # A, who leads, as text
    assert len(parsed.items) == 1 and parsed.items[0].startswith("x~x: <b>& leads by 0.50 s (95% CI 0.50 to 0.50 s")
    assert row["mean peak r"] == f"{s['mean_peak_r']:.2f}"
    assert row["p"] == f"{s['test']['p_value']:.3g}" == "0.02"  # 1/(1+49): nothing beats the real pair
    assert row["q"] == f"{s['test']['q_value']:.3g}"
    assert row["Cohen's d"] == f"{s['test']['cohens_d']:.2f}"
    assert row["mismatch share"] == f"{s['mismatch_share']:.0%}"
    assert row["ruptures"] == str(s["n_ruptures"]) and row["repaired"] == f"{s['share_repaired']:.0%}"
    assert row["median repair time (s)"] == f"{s['median_repair_time_s']:.1f}"
    text = "".join(parsed.text)
    assert "a positive lag means mother follows <b>& (<b>& leads)" in text


def test_session_facts_and_data_quality_have_the_planted_values(page):
    parsed = _Page(page)
    facts = dict(parsed.tables["facts"])
    assert facts["files"] == "dyad <1>.mp4, mother.mp4"
    assert facts["layout"] == "two-files"
    assert facts["persons"] == "<b>& (A), mother (B)"
    assert facts["recording duration"] == "02:00.0 (120.00 s)"
    assert facts["signals"] == "1200 samples at 10 Hz, 00:00.0 to 01:59.9"
    assert facts["start offsets"] == "+0.000 s, +1.500 s"
    assert facts["offset estimate"] == "+1.500 s from the audio, confidence 12.3 (reliable)"
    assert facts["audio"] == "per-person channels"
    quality = parsed.tables["quality"]
    assert quality[0] == ["", "<b>&", "mother"]
    assert quality[1:] == [["frames with a face", "75.0%", "100.0%"], ["voiced frames", "25.0%", "—"],
                           ["voice-active frames", "—", "50.0%"], ["samples with a value: x", "95.0%", "100.0%"]]


def test_episodes_settings_and_version(result, page):
    parsed = _Page(page)
    assert parsed.tables["episodes"][1:] == [["play", "00:00.0", "01:00.0", "60.0"],
                                             ["still-face", "01:00.0", "02:00.0", "60.0"]]
    per_episode = parsed.tables["episode-summary"]
    assert _column(per_episode, "episode") == ["play", "still-face", "all"]
    rows = result.summary["episodes"]["pairs"]["x~x"]
    assert _column(per_episode, "windows") == [str(r["peak_r_count"]) for r in rows]
    settings = dict(parsed.tables["settings"])
    config = result.summary["config"]
    assert sorted(settings) == sorted(config)
    assert settings["window_s"] == "4" and settings["n_surrogates"] == "49" and settings["seed"] == "0"
    assert settings["pairs"] == json.dumps([["x", "x"]]) and settings["smooth_s"] == "—"
    assert f"Analysed with synchrony {__version__}." in "".join(parsed.text)


def test_text_from_data_is_escaped(page):
    parsed = _Page(page)
    assert "<b>&" not in page and "dyad <1>" not in page
    assert "&lt;b&gt;&amp;" in page
    assert "b" not in {tag for tag, _ in parsed.tags}  # no element was made from a label (the page uses <strong>)


def test_no_external_reference_of_any_kind(page, figures, result):
    parsed = _Page(page)
    # Outside the embedded images (whose base64 could spell anything made of letters):
    lowered = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", page).lower()
    for marker in ("http:", "https:", "ftp:", "file:", "url(", "@import", "<script", "<link", "<iframe",
                   "<object", "<embed", "srcset", "//fonts", "cdn"):
        assert marker not in lowered, marker
    for tag, attrs in parsed.tags:
        for key in ("src", "href", "action", "data", "poster"):
            if key in attrs:
                assert attrs[key].startswith("data:image/png;base64,"), (tag, key)
    csp = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]


def test_same_result_gives_the_same_bytes(result, tmp_path):
    first = render_report(result, figures=_figures(result, tmp_path))
    second = render_report(result, figures=_figures(result, tmp_path))  # new Figure objects
    assert first == second
    path = write_report(result, tmp_path / "out" / "report.html", figures=_figures(result, tmp_path))
    assert path.read_bytes() == first.encode("utf-8")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temporary left


def test_default_figures_are_those_write_result_writes(result):
    names = list(report_figures(result))
    assert names == ["overview", "heatmap_x_vs_x", "lag_x_vs_x", "surrogates_x_vs_x", "signals_x_vs_x"]
    images = _Page(render_report(result)).images
    assert len(images) == 5 and all(img["src"].startswith("data:image/png;base64,") for img in images)


def test_figures_go_to_the_longest_matching_pair(result):
    # "heatmap_x_a_vs_b" ends in both "_a_vs_b" and "_x_a_vs_b": it belongs to x_a~b.
    summary = json.loads(json.dumps(result.summary))
    summary["pairs"] = {"a~b": summary["pairs"]["x~x"], "x_a~b": summary["pairs"]["x~x"]}
    png = io.BytesIO()
    Figure(figsize=(1, 1), dpi=20).savefig(png, format="png")
    page = render_report(dataclasses.replace(result, summary=summary),
                         figures={"heatmap_x_a_vs_b": png.getvalue(), "heatmap_a_vs_b": png.getvalue(),
                                  "thumbnails": png.getvalue()})
    at = {key: page.index(key) for key in ("<h3>a~b</h3>", "<h3>x_a~b</h3>", 'id="fig-heatmap_a_vs_b"',
                                          'id="fig-heatmap_x_a_vs_b"', "<h2>More figures</h2>", 'id="fig-thumbnails"')}
    assert at["<h3>a~b</h3>"] < at['id="fig-heatmap_a_vs_b"'] < at["<h3>x_a~b</h3>"]
    assert at["<h3>x_a~b</h3>"] < at['id="fig-heatmap_x_a_vs_b"'] < at["<h2>More figures</h2>"]
    assert at["<h2>More figures</h2>"] < at['id="fig-thumbnails"']


def test_bad_arguments_get_one_line_errors(result, tmp_path):
    with pytest.raises(ParameterError, match=r"^The 'result' parameter of render_report must be a "
                                             r"synchrony.pipeline.Result; got 'dict'\.$"):
        render_report({}, figures={})
    with pytest.raises(ParameterError, match=r"^The 'figures' parameter of render_report must be PNG bytes"):
        render_report(result, figures={"overview": b"GIF89a..."})
    with pytest.raises(ParameterError, match=r"'overview': int"):
        render_report(result, figures={"overview": 3})
    with pytest.raises(InputFileError, match=r"missing\.png: file not found$"):
        render_report(result, figures={"overview": tmp_path / "missing.png"})
    (tmp_path / "fake.png").write_text("not a picture")
    with pytest.raises(InputFileError, match=r"fake\.png: is not a PNG image$"):
        render_report(result, figures={"overview": tmp_path / "fake.png"})


# --- index ----------------------------------------------------------------------------

def _rows():
    return pd.DataFrame({
        "session_id": ["s01", "s 02", "<s03>"],
        "status": ["done", "skipped", "failed"],
        "reason": [None, None, "dyad <3>.mp4: no face found"],
        "duration_s": [58.9755, 61.0, np.nan],
        "x~x mean_peak_r": [0.91395, 0.5, np.nan],
        "report": ["s01/report.html", "s 02/report.html", None],
    })


def test_index_links_each_report_and_shows_failures_with_their_reason():
    page = render_index(_rows(), title="Pilot <study>")
    parsed = _Page(page)
    table = parsed.tables["sessions"]
    assert table[0] == ["session", "status", "reason", "duration_s", "x~x mean_peak_r"]
    assert table[1:] == [["s01", "done", "—", "58.98", "0.914"], ["s 02", "skipped", "—", "61", "0.5"],
                         ["<s03>", "failed", "dyad <3>.mp4: no face found", "—", "—"]]
    assert parsed.links == ["s01/report.html", "s%2002/report.html"]  # relative; the failed one has none
    assert page.count('<tr class="bad">') == 1 and "<s03>" not in page
    assert "3 session(s): 1 done, 1 skipped, 1 failed." in "".join(parsed.text)
    assert "http:" not in page and "https:" not in page


def test_index_rejects_non_relative_links_and_missing_columns(tmp_path):
    for bad in ("/abs/report.html", "http://host/report.html", "C:\\x\\report.html", "file:///r.html"):
        rows = _rows().assign(report=[bad, None, None])
        with pytest.raises(ParameterError, match=r"^The 'rows' parameter of render_index must be relative paths"):
            render_index(rows)
    with pytest.raises(ParameterError,
                       match=r"must be a table with columns 'status' and 'report'; got \"no column 'report'\""):
        render_index(_rows().drop(columns="report"))
    path = write_index(_rows(), tmp_path / "index.html", title="Pilot")
    assert path.read_bytes() == render_index(_rows(), title="Pilot").encode("utf-8")


def test_study_index_rows_from_batch_tables():
    sessions = pd.DataFrame({"session_id": ["a", "b"], "status": ["done", "failed"], "reason": [None, "bad file"],
                             "duration_s": [60.0, None], "folder": ["sub-1/ses-1", "b"], "layout": ["split"] * 2})
    sync = pd.DataFrame({"session_id": ["a", "a"], "pair": ["x~x", "y~y"], "mean_peak_r": [0.8, 0.4],
                         "median_peak_lag_s": [0.5, -0.2], "q_value": [0.01, 0.3], "mismatch_share": [0.1, 0.5]})
    rows = study_index_rows(sessions, sync)
    assert list(rows.columns) == ["session_id", "status", "reason", "duration_s",
                                  "x~x mean_peak_r", "x~x median_peak_lag_s", "x~x q_value", "x~x mismatch_share",
                                  "y~y mean_peak_r", "y~y median_peak_lag_s", "y~y q_value", "y~y mismatch_share",
                                  "report"]
    assert rows["report"].tolist() == ["sub-1/ses-1/report.html", None]
    assert rows.loc[0, "y~y median_peak_lag_s"] == -0.2 and pd.isna(rows.loc[1, "x~x mean_peak_r"])
    assert rows.loc[1, "reason"] == "bad file"
    assert _Page(render_index(rows)).links == ["sub-1/ses-1/report.html"]


# --- a real browser -------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
# Nothing but the file:// pages we give it: no first-run, sync, updates, metrics or field trials.
_FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
          "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-breakpad",
          "--disable-field-trial-config", "--no-pings", "--hide-scrollbars", "--mute-audio",
          "--remote-debugging-pipe"]


class _Chromium:
    """Headless Chromium driven over the DevTools protocol on fds 3 (in) and 4 (out)."""

    def __init__(self, profile):
        to_read, self._to_write = os.pipe()
        self._from_read, from_write = os.pipe()
        # bash (dash refuses fds above 9) puts our pipe ends on the fds Chromium expects,
        # then becomes Chromium.
        command = ["bash", "-c", f'exec "$0" "$@" 3<&{to_read} 4>&{from_write}', CHROMIUM, *_FLAGS,
                   f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(command, pass_fds=(to_read, from_write), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_read)
        os.close(from_write)
        self._buffer, self._id, self.events = b"", 0, []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=self.session)

    def _message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            if select.select([self._from_read], [], [], left)[0]:
                chunk = os.read(self._from_read, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, *, session=None, timeout_s=30):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def open(self, path, *, width_px=1200, height_px=3000, timeout_s=30):
        """Load a file, wait for its load event; return the events it caused."""
        self.events = []
        self.send("Emulation.setDeviceMetricsOverride", {"width": width_px, "height": height_px,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=self.session)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=self.session)
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._message(deadline))
        return self.events

    def evaluate(self, expression):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                          session=self.session)
        assert "exceptionDetails" not in reply, reply
        return reply["result"]["value"]

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"}, session=self.session)["data"])

    def close(self):
        try:
            self.send("Browser.close", timeout_s=10)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_write)
        os.close(self._from_read)


def _errors(events):
    """Console errors and uncaught exceptions among DevTools events."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(p["entry"]["text"])
        elif e.get("method") == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            out.append(json.dumps(p["args"]))
        elif e.get("method") == "Runtime.exceptionThrown":
            out.append(p["exceptionDetails"].get("text", "exception"))
    return out


def _requests(events):
    return [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]


_IMAGES = "Array.from(document.images, i => [i.complete, i.naturalWidth, i.naturalHeight])"
_TABLES = "Array.from(document.querySelectorAll('table'), t => [t.id, t.rows.length])"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it as root)")
    chromium = _Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def test_report_renders_in_headless_chromium(browser, result, page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    events = browser.open(path)

    sizes = _expected_sizes(result)
    order = ["overview", "heatmap_x_vs_x", "signals_x_vs_x", "lag_x_vs_x"]
    assert browser.evaluate(_IMAGES) == [[True, *sizes[name]] for name in order]  # every image decoded
    expected_rows = {"facts": 9, "quality": 5, "pairs": 2, "mismatch": 1 + len(result.mismatch), "episodes": 3,
                     "episode-summary": 4, "settings": len(result.summary["config"])}
    assert dict(browser.evaluate(_TABLES)) == expected_rows
    assert browser.evaluate("document.querySelector('#facts td').textContent") == "dyad <1>.mp4, mother.mp4"
    assert _errors(events) == []
    requests = _requests(events)
    assert requests[0] == path.resolve().as_uri()
    assert all(url.startswith("data:image/png;base64,") for url in requests[1:]) and len(requests) == 5

    shot = browser.screenshot()
    (tmp_path / "report.png").write_bytes(shot)
    with Image.open(io.BytesIO(shot)) as im:
        assert im.size == (1200, 3000)
        top = im.convert("RGB").crop((0, 0, 1200, 800))
        assert len(top.getcolors(maxcolors=1 << 20)) > 100  # text, tables and a figure, not a blank page


def test_the_browser_checks_can_fail(browser, page, tmp_path):
    # A copy with one image's data corrupted and one image from a file: the first does
    # not decode, the second is refused by the page's Content-Security-Policy.
    start = page.index("base64,") + len("base64,")
    broken = page[:start] + "AAAA" + page[start + 40:]
    (tmp_path / "other.png").write_bytes(base64.b64decode(_Page(page).images[-1]["src"].split(",", 1)[1]))
    broken = broken.replace("<footer>", '<img src="other.png" alt="from a file"><footer>')
    path = tmp_path / "broken.html"
    path.write_text(broken, encoding="utf-8")
    events = browser.open(path)
    images = browser.evaluate(_IMAGES)
    assert images[0][1] == 0 and images[-1][1] == 0 and all(w > 0 for _, w, _ in images[1:-1])
    errors = _errors(events)
    assert len(errors) == 1 and "Content Security Policy" in errors[0] and "other.png" in errors[0]


def test_index_renders_and_links_in_headless_chromium(browser, tmp_path):
    path = write_index(_rows(), tmp_path / "index.html", title="Pilot")
    events = browser.open(path)
    assert dict(browser.evaluate(_TABLES)) == {"sessions": 4}
    hrefs = browser.evaluate("Array.from(document.links, a => a.href)")
    assert hrefs == [(tmp_path / "s01" / "report.html").as_uri(), (tmp_path / "s 02" / "report.html").as_uri()]
    assert _errors(events) == [] and _requests(events) == [path.resolve().as_uri()]
