"""Tests of synchrony.export: the .eaf is read back by a real ELAN-format reader (pympi-ling),
the TextGrid by Praat itself (parselmouth), and the BIDS events.tsv by pandas, and each
must hold exactly the spans that were exported."""

from __future__ import annotations

import doctest
import json
import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from synchrony import export as export_module
from synchrony.episodes import episodes_table, split_by_episode
from synchrony.errors import ParameterError
from synchrony.export import (BIDS_COLUMNS, annotation_tiers, bids_events, export_annotations,
                              join_split_spans, mismatch_label, write_bids_events, write_eaf)

pympi = pytest.importorskip("pympi")
parselmouth = pytest.importorskip("parselmouth")
from parselmouth.praat import call  # noqa: E402

EPISODES = [("play", 0.0, 60.0), ("still-face", 60.0, 120.0), ("reunion", 120.0, 180.0)]


def session_tables():
    """Mismatch spans of two pairs (one crossing an episode boundary), turns of two persons."""
    spans = pd.DataFrame({
        "start_s": [12.25, 50.0, 95.5],
        "end_s": [20.5, 75.125, 130.0],
        "duration_s": [8.25, 25.125, 34.5],
        "features": ["smile~smile", "head_motion~head_motion", "smile~smile"],
        "kind": ["chance", "negative", "chance"],
        "active": ["A", "A+B", ""],
        "not_following": ["B", "", ""],
        "strength": [0.21, 0.4, 0.05],
        "p_value": [0.012, 0.004, np.nan],
    })
    turns = pd.DataFrame({"person": ["infant", "mother", "infant", "mother"],
                          "start_s": [1.0, 2.5, 30.0625, 31.0],
                          "end_s": [2.0, 3.75, 30.5, 33.3333]})
    return spans, turns


def expected_tiers():
    spans, turns = session_tables()
    return {
        "episodes": [(0.0, 60.0, "play"), (60.0, 120.0, "still-face"),
                     (120.0, 180.0, "reunion")],
        "turns infant": [(1.0, 2.0, "infant"), (30.0625, 30.5, "infant")],
        "turns mother": [(2.5, 3.75, "mother"), (31.0, 33.3333, "mother")],
        "mismatch smile~smile": [(12.25, 20.5, "chance; bid A; B not following; p=0.012"),
                                 (95.5, 130.0, "chance")],
        "mismatch head_motion~head_motion": [],  # its only span is negative: a tier of its own
        "mismatch head_motion~head_motion negative": [(50.0, 75.125, "negative; bid A+B; p=0.004")],
    }


def export_session(folder, media):
    spans, turns = session_tables()
    # As analyze_signals returns them with episodes: spans cut at the episode boundaries.
    cut = split_by_episode(spans, EPISODES, how="split")
    assert len(cut) == 5  # 50-75.125 and 95.5-130 each cross a boundary
    return export_annotations(folder, mismatch=cut, turns=turns, episodes=EPISODES,
                              persons=("infant", "mother"), media=media, duration_s=180.0)


def test_eaf_opens_in_pympi_with_the_exported_tiers_and_times(tmp_path):
    media = tmp_path / "session.mp4"
    media.write_bytes(b"")
    eaf_path, *_ = export_session(tmp_path, media)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pympi warns on an ELAN version it does not know
        eaf = pympi.Elan.Eaf(str(eaf_path))
    assert list(eaf.get_tier_names()) == list(expected_tiers())
    for name, rows in expected_tiers().items():
        want = [(int(round(lo * 1000)), int(round(hi * 1000)), text) for lo, hi, text in rows]
        assert eaf.get_annotation_data_for_tier(name) == want, name
        params = eaf.get_parameters_for_tier(name)
        assert params["LINGUISTIC_TYPE_REF"] == "default-lt"
        assert params.get("PARTICIPANT") == (name[6:] if name.startswith("turns ") else None)
    assert eaf.linguistic_types["default-lt"]["TIME_ALIGNABLE"] == "true"
    assert eaf.header["TIME_UNITS"] == "milliseconds"
    assert eaf.adocument["VERSION"] == "3.0" and eaf.adocument["FORMAT"] == "3.0"
    assert eaf.media_descriptors == [{"MEDIA_URL": "file://" + str(media.resolve()),
                                      "MIME_TYPE": "video/mp4",
                                      "RELATIVE_MEDIA_URL": "./session.mp4"}]
    assert all(isinstance(v, int) for v in eaf.timeslots.values())


def test_eaf_follows_the_elan_3_schema(tmp_path):
    eaf_path, *_ = export_session(tmp_path, tmp_path / "session.mp4")
    text = eaf_path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT ')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation") \
        == "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
    assert root.get("AUTHOR") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
                                               root.get("DATE"))
    # The schema's sequence: HEADER, TIME_ORDER, TIER*, LINGUISTIC_TYPE*, ..., CONSTRAINT*.
    tags = [child.tag for child in root]
    rank = {"HEADER": 0, "TIME_ORDER": 1, "TIER": 2, "LINGUISTIC_TYPE": 3, "CONSTRAINT": 5}
    assert [rank[t] for t in tags] == sorted(rank[t] for t in tags)
    assert tags[:2] == ["HEADER", "TIME_ORDER"]
    slots = [(s.get("TIME_SLOT_ID"), s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")]
    assert all(re.fullmatch(r"\d+", value) for _, value in slots)  # integer milliseconds
    values = [int(v) for _, v in slots]
    assert values == sorted(values)
    ids = {slot_id for slot_id, _ in slots}
    assert len(ids) == len(slots)
    types = {t.get("LINGUISTIC_TYPE_ID") for t in root.iter("LINGUISTIC_TYPE")}
    anns = list(root.iter("ALIGNABLE_ANNOTATION"))
    assert len({a.get("ANNOTATION_ID") for a in anns}) == len(anns) == 3 + 4 + 3
    for tier in root.iter("TIER"):
        assert tier.get("LINGUISTIC_TYPE_REF") in types
    for ann in anns:
        assert ann.get("TIME_SLOT_REF1") in ids and ann.get("TIME_SLOT_REF2") in ids
    prop = root.find("HEADER/PROPERTY[@NAME='lastUsedAnnotationId']")
    assert prop.text == "10"


def test_textgrid_reads_back_in_praat_equal(tmp_path):
    _, grid_path, *_ = export_session(tmp_path, None)
    grid = parselmouth.read(str(grid_path))
    names = list(expected_tiers())
    assert call(grid, "Get number of tiers") == len(names)
    assert call(grid, "Get start time") == 0.0 and call(grid, "Get end time") == 180.0
    for k, name in enumerate(names, start=1):
        assert call(grid, "Get tier name...", k) == name
        labelled = []
        for i in range(1, call(grid, "Get number of intervals...", k) + 1):
            label = call(grid, "Get label of interval...", k, i)
            if label:
                labelled.append((call(grid, "Get start time of interval...", k, i),
                                 call(grid, "Get end time of interval...", k, i), label))
        assert labelled == expected_tiers()[name], name  # exact floats, not rounded


def test_eaf_reads_back_through_our_readers(tmp_path):
    from synchrony.coding import read_eaf_tiers

    eaf_path, *_ = export_session(tmp_path, tmp_path / "session.mp4")
    tiers = read_eaf_tiers(eaf_path)
    for name, rows in expected_tiers().items():
        want = [(round(lo, 3), round(hi, 3), text) for lo, hi, text in rows]
        assert [tuple(r) for r in tiers[name].itertuples(index=False)] == want
    pd.testing.assert_frame_equal(episodes_table(eaf_path, tier="episodes"),
                                  episodes_table(EPISODES))


def test_bids_events_tsv(tmp_path):
    *_, tsv, sidecar = export_session(tmp_path, None)
    raw = tsv.read_text(encoding="utf-8")
    assert raw.splitlines()[0].split("\t") == BIDS_COLUMNS
    assert "\r" not in raw and "nan" not in raw.lower().replace("n/a", "")
    table = pd.read_csv(tsv, sep="\t", keep_default_na=False, dtype=str)
    assert len(table) == 3 + 3 + 4  # whole spans (not pieces), episodes, turns
    onsets = table["onset"].astype(float).to_numpy()
    assert (np.diff(onsets) >= 0).all()
    first = table.iloc[0].to_dict()
    assert first == {"onset": "0.0", "duration": "60.0", "trial_type": "episode",
                     "features": "n/a", "kind": "n/a", "person": "n/a", "active": "n/a",
                     "not_following": "n/a", "strength": "n/a", "p_value": "n/a",
                     "episode": "play"}
    spans = table[table["trial_type"] == "mismatch"]
    assert spans[["onset", "duration", "features", "kind", "active", "not_following",
                  "p_value"]].values.tolist() == [
        ["12.25", "8.25", "smile~smile", "chance", "A", "B", "0.012"],
        ["50.0", "25.125", "head_motion~head_motion", "negative", "A+B", "n/a", "0.004"],
        ["95.5", "34.5", "smile~smile", "chance", "n/a", "n/a", "n/a"]]
    turns = table[table["trial_type"] == "turn"]
    assert turns["person"].tolist() == ["infant", "mother", "infant", "mother"]
    np.testing.assert_allclose(turns["duration"].astype(float), [1.0, 1.25, 0.4375, 2.3333])
    meta = json.loads(sidecar.read_text())
    assert meta["onset"]["Units"] == "s" and meta["duration"]["Units"] == "s"
    assert set(meta["trial_type"]["Levels"]) == {"mismatch", "turn", "episode"}


def test_same_input_same_bytes(tmp_path):
    first = export_session(tmp_path / "one", tmp_path / "session.mp4")
    second = export_session(tmp_path / "two", tmp_path / "session.mp4")
    for a, b in zip(first, second):
        if a.suffix == ".eaf":  # the relative media URL differs by folder only
            assert a.read_text().replace("one", "two") == b.read_text()
        else:
            assert a.read_bytes() == b.read_bytes()


def test_media_links(tmp_path):
    tiers = {"x": pd.DataFrame({"start_s": [0.0], "end_s": [1.0], "text": ["a"]})}
    (tmp_path / "out").mkdir()
    media = [tmp_path / "out" / "video" / "infant.MOV", tmp_path / "mother.wav",
             tmp_path / "out" / "clip.avi"]
    path = write_eaf(tmp_path / "out" / "s.eaf", tiers, media=media)
    eaf = pympi.Elan.Eaf(str(path))
    got = [(d["MIME_TYPE"], d["RELATIVE_MEDIA_URL"], d["MEDIA_URL"])
           for d in eaf.media_descriptors]
    assert got == [("video/quicktime", "./video/infant.MOV", f"file://{media[0].resolve()}"),
                   ("audio/x-wav", "../mother.wav", f"file://{media[1].resolve()}"),
                   ("video/*", "./clip.avi", f"file://{media[2].resolve()}")]


def test_times_are_rounded_to_whole_milliseconds(tmp_path):
    tier = pd.DataFrame({"start_s": [1.23449, 2.0006, 5.0], "end_s": [1.5, 2.0009, 5.0004],
                         "text": ["a", "b", "c"]})
    path = write_eaf(tmp_path / "r.eaf", {"t": tier})
    data = pympi.Elan.Eaf(str(path)).get_annotation_data_for_tier("t")
    # 2.0006 -> 2001 and 2.0009 -> 2001: an interval that rounds to nothing keeps 1 ms.
    assert data == [(1234, 1500, "a"), (2001, 2002, "b"), (5000, 5001, "c")]


def test_join_split_spans_restores_the_whole_spans():
    spans, _ = session_tables()
    cut = split_by_episode(spans, EPISODES, how="split")
    joined = join_split_spans(cut.reset_index(drop=True))
    pd.testing.assert_frame_equal(joined, spans.reset_index(drop=True))
    # Two distinct spans that merely touch, with different p-values, stay apart.
    touching = spans.iloc[[0, 0]].copy()
    touching["start_s"], touching["end_s"] = [10.0, 20.0], [20.0, 30.0]
    touching["p_value"], touching["episode"] = [0.01, 0.02], ["play", "play"]
    assert len(join_split_spans(touching)) == 2


def test_annotation_tiers_lists_checked_pairs_without_spans(tmp_path):
    spans, _ = session_tables()
    tiers = annotation_tiers(mismatch=spans.iloc[:1], pairs=["smile~smile", "f0_st~f0_st"])
    assert list(tiers) == ["mismatch smile~smile", "mismatch f0_st~f0_st"]
    assert tiers["mismatch f0_st~f0_st"].empty
    path = write_eaf(tmp_path / "p.eaf", tiers)
    assert pympi.Elan.Eaf(str(path)).get_annotation_data_for_tier("mismatch f0_st~f0_st") == []
    assert mismatch_label({"kind": "negative", "active": np.nan, "p_value": np.nan}) == \
        "negative"


def test_bids_events_of_nothing_is_an_empty_table():
    table = bids_events()
    assert table.empty and list(table.columns) == BIDS_COLUMNS


@pytest.mark.parametrize("tiers, match", [
    ({}, "non-empty mapping"),
    ({"x": pd.DataFrame({"time_s": [1.0]})}, "start_s and end_s"),
    ({"x": pd.DataFrame({"start_s": [0.0, 0.5], "end_s": [1.0, 2.0]})}, "non-overlapping"),
    ({"x": pd.DataFrame({"start_s": [-1.0], "end_s": [2.0]})}, "0 <= start_s < end_s"),
    ({"x": pd.DataFrame({"start_s": [3.0], "end_s": [2.0]})}, "0 <= start_s < end_s"),
])
def test_bad_tiers_leave_the_old_file(tmp_path, tiers, match):
    path = tmp_path / "s.eaf"
    good = {"x": pd.DataFrame({"start_s": [0.0], "end_s": [1.0]})}
    write_eaf(path, good)
    before = path.read_bytes()
    with pytest.raises(ParameterError, match=match):
        write_eaf(path, tiers)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.eaf"]


def test_bad_inputs():
    with pytest.raises(ParameterError, match="'turns' parameter of annotation_tiers"):
        annotation_tiers(turns=pd.DataFrame({"start_s": [1.0], "end_s": [2.0]}))
    with pytest.raises(ParameterError, match="'media' parameter of write_eaf"):
        write_eaf("unused.eaf", {"x": pd.DataFrame({"start_s": [0.0], "end_s": [1.0]})},
                  media=[3])
    with pytest.raises(ParameterError, match="durations >= 0"):
        write_bids_events("unused.tsv", pd.DataFrame({"onset": [1.0], "duration": [-1.0]}))
    with pytest.raises(ParameterError, match="'mismatch' parameter of export_annotations"):
        export_annotations("unused")


def test_docstring_examples_run():
    result = doctest.testmod(export_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_overlapping_chance_and_negative_spans_of_one_pair(tmp_path):
    """A smile answered by a frown is at chance and negative at once: the two kinds of span
    overlap, so they go to two tiers (one ELAN tier cannot hold overlapping annotations)."""
    import pympi

    spans = pd.DataFrame({"start_s": [10.0, 12.0], "end_s": [20.0, 18.0], "duration_s": [10.0, 6.0],
                          "features": ["smile~smile"] * 2, "kind": ["chance", "negative"],
                          "active": ["A", "A"], "not_following": ["B", "B"], "strength": [0.2, 0.3],
                          "p_value": [0.01, 0.02]})
    paths = export_annotations(tmp_path, mismatch=spans, duration_s=30.0)
    eaf = pympi.Elan.Eaf(str(paths[0]))
    assert [a[:2] for a in eaf.get_annotation_data_for_tier("mismatch smile~smile")] == [(10000, 20000)]
    assert [a[:2] for a in eaf.get_annotation_data_for_tier("mismatch smile~smile negative")] == [(12000, 18000)]
