"""The CI skip allow-list: the shipped file parses, and only listed skips pass."""

import pytest

from skip_allowlist import read_allowed, unexpected_skips


def test_the_shipped_allow_list_parses():
    assert all(pattern and reason for pattern, reason in read_allowed())


def test_only_listed_skips_with_their_reason_are_allowed(tmp_path):
    allowed = tmp_path / "allowed.txt"
    allowed.write_text("# comment\n\ntests/test_export.py::*glb* | export extra\n")
    entries = read_allowed(allowed)
    assert entries == [("tests/test_export.py::*glb*", "export extra")]
    skips = [("tests/test_export.py::test_glb_round_trip", "GLB export needs the export extra"),
             ("tests/test_export.py::test_glb_round_trip", "pytinydiffsim is not installed"),
             ("tests/test_physics.py::test_tds_reports_divergence", "pytinydiffsim is not installed")]  # fmt: skip
    assert unexpected_skips(skips, entries) == skips[1:]


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    allowed = tmp_path / "allowed.txt"
    allowed.write_text("# comment\ntests/test_physics.py::*\n")
    with pytest.raises(ValueError, match=r"allowed.txt:2: expected 'TEST-ID-GLOB \| REASON'"):
        read_allowed(allowed)
