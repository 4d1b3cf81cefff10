"""C3D input: marker sets to the 17 joint centres (motion_recon/marker_sets.py), the C3D reader
(motion_recon/datasets/c3d.py) and ``recon mocap trial.c3d``, on fixtures whose markers sit at the
documented offsets from a known motion (tests/c3d_files.py)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon import marker_sets, skeleton
from motion_recon.datasets import read_motion
from motion_recon.datasets.c3d import _TO_Z_UP, detect_up, fill_short_gaps
from motion_recon.paths import data_dir
from pipelines.cli import app

from c3d_files import CMU, PLUG_IN_GAIT, place_markers, write_c3d

runner = CliRunner()
FPS = 100.0
# The fixture's truth: the bundled walk at a gait lab's 100 Hz (125 frames)
TRUTH = read_motion(data_dir() / "samples" / "mocap_walk.npz").resampled(FPS).keypoints
# Joint centres read back within 0.5 mm: float32 storage costs 1e-4 mm, and the walk's hips are
# 0.2 mm from rigid, which the trial's median pelvic width (Harrington's predictor) cannot follow.
RECOVERY_MM = 0.5
HEAD = skeleton.INDEX["head"]


def errors_mm(keypoints):
    return 1000.0 * np.linalg.norm(keypoints - TRUTH, axis=-1)


@pytest.fixture(scope="module")
def markers():
    return place_markers(TRUTH)


def test_harrington_hips_match_the_published_regression():
    """PW 250 mm, PD 160 mm, pelvis facing +x with z up: x = -0.24 PD - 9.9 = -48.3 mm,
    y = -0.30 PW - 10.9 = -85.9 mm, z = 0.33 PW + 7.3 = 89.8 mm (Harrington et al. 2007)."""
    lasi, rasi, psis = np.array([[0.0, 0.125, 1.0]]), np.array([[0.0, -0.125, 1.0]]), np.array([[-0.16, 0.0, 1.0]])
    left, right = marker_sets.harrington_hips(lasi, rasi, psis)
    np.testing.assert_allclose(left[0], [-0.0483, 0.0898, 1.0 - 0.0859], atol=1e-9)
    np.testing.assert_allclose(right[0], [-0.0483, -0.0898, 1.0 - 0.0859], atol=1e-9)


def test_the_chord_puts_the_centre_in_the_wand_plane_perpendicular_to_the_segment():
    hip, knee_marker, wand = np.array([[0.0, 0.0, 0.9]]), np.array([[0.0, 0.05, 0.45]]), np.array([[0.0, 0.12, 0.7]])
    centre = marker_sets.chord(knee_marker, hip, wand, 0.05)
    assert np.linalg.norm(centre - knee_marker) == pytest.approx(0.05)
    assert np.dot((hip - centre)[0], (knee_marker - centre)[0]) == pytest.approx(0.0, abs=1e-12)
    assert centre[0, 0] == pytest.approx(0.0) and centre[0, 1] < knee_marker[0, 1]  # in the plane x = 0, medial


@pytest.mark.parametrize("labels, units, up, prefix, knee", [
    (PLUG_IN_GAIT, "mm", "z", "", "chord of LKNE with LTHI"),
    (CMU, "m", "y", "Walker:", "midpoint of LKNE and LKNI"),
])  # fmt: skip
def test_joint_centres_of_both_marker_sets_are_read_back(tmp_path, markers, labels, units, up, prefix, knee):
    path = tmp_path / "trial.c3d"
    write_c3d(path, markers, FPS, labels=labels, units=units, up=up, prefix=prefix)
    sequence = read_motion(path)
    assert sequence.layout == "h36m17" and sequence.fps == FPS and sequence.keypoints.shape == TRUTH.shape
    assert sequence.source["units"] == units and sequence.source["units_chosen"] == "POINT:UNITS"
    assert sequence.source["up"] == f"+{up}" and sequence.source["joint_recipes"]["left_knee"] == knee
    error = errors_mm(sequence.keypoints)
    assert np.delete(error, HEAD, axis=1).max() < RECOVERY_MM
    # the head's top is HEAD_TOP_M above the head markers; the walk's is 102.5 mm on average
    bone_mm = 1000.0 * np.linalg.norm(TRUTH[:, HEAD] - TRUTH[:, skeleton.INDEX["neck"]], axis=-1)
    np.testing.assert_allclose(error[:, HEAD], np.abs(bone_mm - 1000.0 * marker_sets.HEAD_TOP_M), atol=0.01)
    assert "warnings" not in sequence.source


def test_a_sacrum_marker_stands_for_the_psis_and_units_can_be_given(tmp_path, markers):
    path = tmp_path / "sacr.c3d"
    labels = [name for name in PLUG_IN_GAIT if name not in ("LPSI", "RPSI")] + ["SACR"]
    write_c3d(path, markers, FPS, labels=labels, units="mm", units_label="")
    with pytest.raises(ValueError, match="sacr.c3d: POINT:UNITS is '', not one of mm, cm, m; give the units"):
        read_motion(path)
    sequence = read_motion(path, units="mm")
    assert sequence.source["units_chosen"] == "given"
    assert sequence.source["joint_recipes"]["left_hip"] == "Harrington 2007 (LASI RASI SACR)"
    assert np.delete(errors_mm(sequence.keypoints), HEAD, axis=1).max() < RECOVERY_MM


def test_short_gaps_are_filled_and_long_ones_reported(tmp_path, markers):
    gappy = {name: trajectory.copy() for name, trajectory in markers.items()}
    gappy["LKNE"][40:48] = np.nan  # 8 frames: filled (at most 0.1 s = 10 frames)
    gappy["LWRA"][60:90] = np.nan  # 30 frames: left open
    path = tmp_path / "gaps.c3d"
    write_c3d(path, gappy, FPS, labels=PLUG_IN_GAIT)
    sequence = read_motion(path)
    error = errors_mm(sequence.keypoints)
    knee, wrist = skeleton.INDEX["left_knee"], skeleton.INDEX["left_wrist"]
    # measured 0.84 mm mean, 1.5 mm worst: a spline through a walk sampled at 25 fps and interpolated linearly
    assert np.isfinite(sequence.keypoints[40:48, knee]).all() and error[40:48, knee].max() < 2.0
    assert np.isnan(sequence.keypoints[60:90, wrist]).all() and np.isfinite(np.delete(sequence.keypoints[60:90], wrist, 1)).all()
    (warning,) = sequence.source["warnings"]
    assert "LWRA (frames 60-89)" in warning and "LKNE" not in warning


def test_fill_short_gaps_leaves_gaps_at_the_ends_open():
    track = np.arange(20.0)[:, None, None] * np.ones((1, 1, 3))
    track[:2] = track[8:11] = np.nan
    filled, open_gaps = fill_short_gaps(track, 5)
    np.testing.assert_allclose(filled[8:11, 0, 0], [8.0, 9.0, 10.0])
    assert open_gaps == [(0, 0, 2)] and np.isnan(filled[:2]).all()


@pytest.mark.parametrize("up", sorted(_TO_Z_UP))
def test_every_up_axis_is_detected_and_turned_to_z(up):
    in_file = TRUTH @ _TO_Z_UP[up]  # the inverse rotation: z up becomes ``up``
    assert detect_up(in_file) == up
    np.testing.assert_allclose(in_file @ _TO_Z_UP[up].T, TRUTH, atol=1e-12)


def test_a_custom_marker_set_is_read_through_a_mapping(tmp_path, markers):
    custom = {f"{name[0]}_{name[1:]}": markers[name] for name in PLUG_IN_GAIT}
    path = tmp_path / "custom.c3d"
    write_c3d(path, custom, FPS)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({name: f"{name[0]}_{name[1:]}" for name in PLUG_IN_GAIT}))
    sequence = read_motion(path, markers=mapping)
    assert np.delete(errors_mm(sequence.keypoints), HEAD, axis=1).max() < RECOVERY_MM


def test_recon_mocap_runs_on_a_plug_in_gait_trial(tmp_path, markers):
    """End to end on 0.64 s (64 frames at 100 Hz, 2 windows) with 2 evaluations per window, a
    wrist marker lost for 0.3 s."""
    path, out = tmp_path / "walk.c3d", tmp_path / "walk.json"
    gappy = dict(markers, LWRA=np.where(np.arange(len(TRUTH))[:, None] // 30 == 1, np.nan, markers["LWRA"]))
    write_c3d(path, gappy, FPS, labels=PLUG_IN_GAIT, up="y", prefix="Walker:")
    result = runner.invoke(app, ["mocap", str(path), "--frames", "64", "--max-evals", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "units: mm (POINT:UNITS)" in result.output and "up: +y" in result.output and "MPJPE-G" in result.output
    assert "warning:" in result.output and "LWRA (frames 30-59)" in result.output
    scores = json.loads(out.read_text())
    # the body fit of the marker-derived joints (measured: 8.9 mm mean, 17.5 mm worst joint)
    assert scores["kinematic_fit_mm"] < 10.0 and scores["kinematic_fit_max_mm"] < 20.0
    assert scores["evals_per_window"] <= 2 and np.isfinite(scores["mpjpe_g"])


def test_bad_c3d_input_gives_one_line_and_keeps_existing_outputs(tmp_path, markers):
    out = tmp_path / "keep.h5"
    out.write_text("old")
    good = tmp_path / "good.c3d"
    write_c3d(good, markers, FPS, labels=PLUG_IN_GAIT)
    data = good.read_bytes()
    (tmp_path / "cut.c3d").write_bytes(data[: len(data) // 2])
    (tmp_path / "header.c3d").write_bytes(data[:520])
    write_c3d(tmp_path / "unknown.c3d", {f"M{k:02d}": markers[name] for k, name in enumerate(PLUG_IN_GAIT)}, FPS)
    empty = dict(markers, LKNE=np.full_like(markers["LKNE"], np.nan))
    write_c3d(tmp_path / "empty.c3d", empty, FPS, labels=PLUG_IN_GAIT)
    (tmp_path / "map.json").write_text(json.dumps({"LASI": "L_ASIS"}))
    for args, text in [
        (["cut.c3d"], "cut.c3d: the file ends after 60 of its 125 frames (truncated?)"),
        (["header.c3d"], "header.c3d: not a readable C3D file"),
        (["unknown.c3d"], "no marker set places left_hip (LASI+RASI+LPSI+RPSI or LASI+RASI+SACR or LFWT+RFWT+LBWT+RBWT)"),
        (["empty.c3d"], "marker(s) LKNE have no sample in any frame, so no marker set places left_knee (LKNE+LKNI or LKNE+LTHI)"),
        (["good.c3d", "--markers", str(tmp_path / "map.json")], "the marker mapping names 'L_ASIS', which the file does not have"),
        (["good.c3d", "--units", "inch"], "unknown units 'inch'; choose one of mm, cm, m"),
    ]:
        result = runner.invoke(app, ["mocap", str(tmp_path / args[0]), *args[1:], "--out", str(out)])
        assert result.exit_code == 2, (args, result.output)
        assert text in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert out.read_text() == "old"
