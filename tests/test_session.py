"""Session: layouts, defaults, and one-line validation messages naming the parameter or file."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from synchrony.errors import ConfigError, InputFileError
from synchrony.session import LAYOUTS, Session


@pytest.fixture
def files(tmp_path):
    """Three placeholder recordings: a Session checks they exist, it does not decode."""
    paths = []
    for name in ("play.mp4", "infant.mp4", "mother.mp4"):
        path = tmp_path / name
        path.write_bytes(b"\0")
        paths.append(path)
    return paths


def test_from_video_defaults(files):
    s = Session.from_video(files[0])
    assert s == Session("split", (str(files[0]),))
    assert s.layout == "split"
    assert s.videos == (str(files[0]),) and isinstance(s.videos[0], str)
    assert s.persons == ("A", "B")
    assert s.offsets_s == (0.0,)
    assert s.split == 0.5 and s.regions_px is None and s.audio is None
    assert not s.estimate_offsets


def test_from_video_options(files):
    s = Session.from_video(files[0], layout="shared-frame", persons=["infant", "mother"],
                           offsets_s=(1.5,))
    assert (s.layout, s.persons, s.offsets_s) == ("shared-frame", ("infant", "mother"), (1.5,))
    s = Session.from_video(str(files[0]), regions_px=[(0, 0, 320, 360), (320, 0, 320, 360)])
    assert s.regions_px == ((0, 0, 320, 360), (320, 0, 320, 360))


def test_two_files(files):
    s = Session("two-files", (files[1], files[2]), persons=("infant", "mother"))
    assert s.offsets_s == (0.0, 0.0)
    s = Session("two-files", (files[1], files[2]), offsets_s=(0, 2))
    assert s.offsets_s == (0.0, 2.0) and all(type(v) is float for v in s.offsets_s)
    s = Session("two-files", (files[1], files[2]), offsets_s=None, audio=(files[0],))
    assert s.estimate_offsets and s.offsets_s is None and s.audio == (str(files[0]),)


def test_session_is_frozen_and_hashable(files):
    s = Session.from_video(files[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.layout = "two-files"
    assert hash(s) == hash(Session.from_video(files[0]))
    assert set(LAYOUTS) == {"split", "two-files", "shared-frame", "audio"}


def _bad(files):
    one, two = (files[0],), (files[1], files[2])
    return [
        ({"layout": "grid", "videos": one}, "layout",
         "must be one of 'split', 'two-files', 'shared-frame', 'audio'; got 'grid'"),
        ({"layout": "split", "videos": two}, "videos", "1 video path for the 'split' layout"),
        ({"layout": "two-files", "videos": one}, "videos", "2 video paths"),
        ({"layout": "split", "videos": 3}, "videos", "a path or a tuple of paths"),
        ({"layout": "split", "videos": ("",)}, "videos", "non-empty paths"),
        ({"layout": "split", "videos": one, "persons": ("A", "A")}, "persons", "two different"),
        ({"layout": "split", "videos": one, "persons": ("A",)}, "persons", "two different"),
        ({"layout": "split", "videos": one, "persons": ("A", "")}, "persons", "non-empty"),
        ({"layout": "split", "videos": one, "offsets_s": None}, "offsets_s", "'two-files'"),
        ({"layout": "two-files", "videos": two, "offsets_s": (0.0,)}, "offsets_s", "2 finite"),
        ({"layout": "two-files", "videos": two, "offsets_s": (0.0, float("nan"))}, "offsets_s",
         "finite"),
        ({"layout": "split", "videos": one, "offsets_s": 2.0}, "offsets_s", "a tuple of 1"),
        ({"layout": "split", "videos": one, "split": 1.0}, "split", "in (0, 1)"),
        ({"layout": "split", "videos": one, "split": True}, "split", "in (0, 1)"),
        ({"layout": "shared-frame", "videos": one, "split": 0.4}, "split", "'split' only"),
        ({"layout": "two-files", "videos": two, "regions_px": ((0, 0, 1, 1), (2, 0, 1, 1))},
         "regions_px", "'split' only"),
        ({"layout": "split", "videos": one, "split": 0.4,
          "regions_px": ((0, 0, 1, 1), (2, 0, 1, 1))}, "split", "when 'regions_px' is given"),
        ({"layout": "split", "videos": one, "regions_px": ((0, 0, 10, 10),)}, "regions_px",
         "two (x, y, w, h)"),
        ({"layout": "split", "videos": one, "regions_px": ((0, 0, 10, 10), (5, 0, 0.5, 10))},
         "regions_px", "whole pixels"),
        ({"layout": "split", "videos": one, "regions_px": ((0, 0, 10, 10), (-1, 0, 5, 10))},
         "regions_px", "x, y >= 0"),
        ({"layout": "split", "videos": one, "regions_px": ((0, 0, 10, 10), (5, 5, 10, 10))},
         "regions_px", "do not overlap"),
        ({"layout": "split", "videos": one, "regions_px": 5}, "regions_px", "two (x, y, w, h)"),
        ({"layout": "split", "videos": one, "audio": (files[0],) * 3}, "audio", "1 or 2"),
    ]


def test_bad_values_are_one_line_config_errors_naming_the_parameter(files):
    for kwargs, name, text in _bad(files):
        with pytest.raises(ConfigError) as err:
            Session(**kwargs)
        message = str(err.value)
        assert message.startswith(f"The {name!r} parameter of Session must be "), message
        assert text in message, message
        assert "\n" not in message


def test_from_video_refuses_two_files(files):
    with pytest.raises(ConfigError, match=r"^The 'layout' parameter of Session\.from_video "
                       r"must be 'split' or 'shared-frame'.*got 'two-files'\.$"):
        Session.from_video(files[0], layout="two-files")


def test_missing_files_name_the_file(files, tmp_path):
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(InputFileError, match=r"nowhere\.mp4: file not found$") as err:
        Session("two-files", (files[1], missing))
    assert err.value.path == str(missing)
    with pytest.raises(InputFileError, match=r"nowhere\.mp4: file not found$"):
        Session.from_video(files[0], audio=(missing,))
    with pytest.raises(InputFileError, match="is a directory"):
        Session.from_video(tmp_path)
    # Parameters are checked before files: a bad layout is reported as such.
    with pytest.raises(ConfigError, match="'layout'"):
        Session("grid", (missing,))


def test_layout_modules_import_light():
    """The session, align and tracking modules load no video/audio/ML stack on import."""
    code = ("import sys, synchrony.session, synchrony.extract.align, synchrony.extract.tracking; "
            "heavy = {'mediapipe', 'cv2', 'librosa', 'parselmouth', 'av', 'matplotlib', "
            "'tqdm'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
