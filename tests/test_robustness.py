"""The bad-input corpus (issue #8 item 1): every case in tests/robustness_cases.py gets
its documented outcome, and docs/robustness.md is the table those cases render to."""

import re
import subprocess
import sys

import pytest

import synchrony.errors
from conftest import REPO
from robustness_cases import CASES
from robustness_table import DOC, render

RUN = [c for c in CASES if c.covered_by is None]
COVERED = [c for c in CASES if c.covered_by is not None]


def _param(case):
    # Only a failed check counts as the known bug, not a crash of the test itself.
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail, raises=(AssertionError, pytest.fail.Exception))
             ] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def _fill(text, paths, out):
    return text.replace("{out}", str(out)).format(**{k: str(v) for k, v in paths.items()})


def _cli(args):
    return subprocess.run([sys.executable, "-m", "synchrony.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _one_error_line(run):
    """Exit 1, no traceback, exactly one 'error:' line and it is the last line on stderr
    (progress bars and warnings may come before it)."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], run.stderr
    return errors[0]


@pytest.mark.parametrize("case", [_param(c) for c in RUN])
def test_case_outcome(case, tmp_path, caplog, request):
    if case.needs_reference:
        request.getfixturevalue("reference_dir")  # skips without the reference data
    paths = case.make(tmp_path)
    out = tmp_path / "out"
    expect = [_fill(f, paths, out) for f in case.expect]
    assert all(expect) and (expect or case.outcome == "works"), "a case must name what the user is told"
    if case.cli:
        run = _cli([_fill(a, paths, out) for a in case.cli])
        if case.outcome == "error":
            line = _one_error_line(run)
            assert all(f in line for f in expect), line
            return
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
        if case.outcome == "degraded":
            warnings = [line for line in run.stderr.splitlines() if line.startswith("WARNING: ")]
            assert any(all(f in w for f in expect) for w in warnings), run.stderr
        case.check(out, paths)
        return
    if case.outcome == "error":
        with pytest.raises(getattr(synchrony.errors, case.error_type)) as info:
            case.api(paths, tmp_path)
        message = str(info.value)
        assert "\n" not in message and all(f in message for f in expect), message
        return
    result = case.api(paths, tmp_path)
    told = case.check(result, paths)
    if case.outcome == "degraded":
        assert all(f in told for f in expect), told


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in COVERED])
def test_covered_case_points_at_an_existing_test(case):
    """A case asserted elsewhere names a test that exists and uses the documented words."""
    path, name = case.covered_by.split("::")
    source = (REPO / path).read_text()
    match = re.search(rf"^def {re.escape(name)}\(", source, re.M)
    assert match, f"{case.covered_by} not found"
    # The test's block with its decorators: top-level blocks are two blank lines apart.
    start = source.rfind("\n\n\n", 0, match.start())
    end = source.find("\n\n\n", match.end())
    body = source[start : end if end >= 0 else len(source)]
    for fragment in case.expect:
        # The message fragments are asserted there (an apostrophe may be escaped).
        assert fragment in body or fragment.replace("'", "\\'") in body, (case.id, fragment)


def test_every_case_is_well_formed():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case.outcome in ("error", "degraded", "works"), case.id
        assert (case.covered_by is None) == (case.make is not None), case.id
        if case.make is not None:
            assert bool(case.cli) != (case.api is not None), case.id
            assert case.how and case.call, case.id
            assert case.outcome == "error" or case.check is not None, case.id
        if case.outcome == "degraded":
            assert case.flags and case.expect, case.id
        if case.error_type != "SynchronyError":
            assert issubclass(getattr(synchrony.errors, case.error_type), synchrony.errors.SynchronyError)


def test_docs_table_is_generated_from_the_cases():
    assert DOC.read_text() == render(), (
        "docs/robustness.md is out of date with tests/robustness_cases.py; regenerate it with "
        "`.venv/bin/python tests/robustness_table.py`")
