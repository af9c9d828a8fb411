"""Stage cache: exact round trip, keyed on contents and settings, safe against kills."""

import numpy as np
import pandas as pd

from synchrony.cache import file_digest, load_tracks, save_tracks, stage_key


def _tracks():
    t = pd.Index([0.0, 0.0417, 0.0834, 0.1251], name="time_s")
    return {
        "infant": pd.DataFrame({"face_detected": [True, False, True, True],
                                "head_motion": [np.nan, np.nan, 0.1 / 3, 2 / 7]}, index=t),
        "mother": pd.DataFrame({"face_detected": [True] * 4,
                                "head_motion": [np.nan, 1e-17, 123456.789, -0.5]}, index=t),
    }


def test_round_trip_is_exact(tmp_path):
    tracks = _tracks()
    save_tracks(tmp_path / "faces", "k1", tracks)
    back = load_tracks(tmp_path / "faces", "k1")
    assert list(back) == ["infant", "mother"]
    for person in tracks:
        pd.testing.assert_frame_equal(back[person], tracks[person], check_exact=True)


def test_other_key_or_missing_manifest_is_a_miss(tmp_path):
    save_tracks(tmp_path, "k1", _tracks())
    assert load_tracks(tmp_path, "k2") is None
    (tmp_path / "manifest.json").unlink()
    assert load_tracks(tmp_path, "k1") is None
    assert load_tracks(tmp_path / "nowhere", "k1") is None


def test_key_follows_contents_and_settings_not_names(tmp_path):
    a = tmp_path / "a.mp4"
    b = tmp_path / "b.mp4"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert file_digest(a) == file_digest(b)
    assert stage_key("faces", [a], {"rate_hz": None}) == stage_key("faces", [b], {"rate_hz": None})
    assert stage_key("faces", [a], {"rate_hz": None}) != stage_key("faces", [a], {"rate_hz": 10})
    b.write_bytes(b"other bytes")
    assert stage_key("faces", [a], {}) != stage_key("faces", [b], {})
    assert stage_key("faces", [a], {}) != stage_key("voice", [a], {})


def test_a_save_interrupted_before_its_manifest_is_not_trusted(tmp_path, monkeypatch):
    save_tracks(tmp_path, "k1", _tracks())
    import synchrony.cache as cache

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "write_json", killed)
    try:
        save_tracks(tmp_path, "k2", _tracks())
    except KeyboardInterrupt:
        pass
    assert load_tracks(tmp_path, "k1") is None  # the old manifest was withdrawn first
    assert load_tracks(tmp_path, "k2") is None


def test_atomic_files_get_ordinary_permissions(tmp_path):
    """mkstemp makes owner-only (0600) files; results get what any new file gets."""
    import stat

    from synchrony import formats

    path = formats.write_json({"a": 1}, tmp_path / "x.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~formats._UMASK
    if formats._UMASK == 0o022:  # the usual umask: readable by group and others
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
