"""``recon export``: a result's motion as BVH (read back by our reader), npz and CSV."""

import csv

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from body_models.model_files import result_mujoco_model
from motion_recon.datasets.bvh import read_bvh
from motion_recon.result_file import write_result
from motion_recon.skeleton import JOINTS
from pipelines.cli import app
from pipelines.export import export

from posed_results import posed_result

runner = CliRunner()


def turned_result():
    """The gliding rest pose with every joint and the root turned at random, 40 degrees or so."""
    result = posed_result(frames=6)
    model = result_mujoco_model(result.body)
    rng = np.random.default_rng(0)
    qpos = np.asarray(result.qpos, float).copy()
    for body in range(1, model.nbody):
        address = model.jnt_qposadr[model.body_jntadr[body]] + (3 if body == 1 else 0)
        qpos[:, address : address + 4] = Rotation.from_rotvec(rng.normal(0.0, 0.4, (len(qpos), 3))).as_quat(scalar_first=True)
    result.qpos = qpos
    return result, model


def body_positions(model, qpos) -> np.ndarray:
    data = mujoco.MjData(model)
    out = []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        out.append(data.xpos[1:].copy())
    return np.array(out)


@pytest.mark.parametrize("up, units", [("y", "m"), ("z", "cm")])
def test_bvh_round_trip_through_our_reader_matches_the_simulated_bodies(tmp_path, up, units):
    result, model = turned_result()
    path = export(result, tmp_path / "motion.bvh", up=up, units=units)
    back = read_bvh(path, up=up, units=units)
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(1, model.nbody)]
    got = back.keypoints[:, [back.joint_names.index(n) for n in names]]
    np.testing.assert_allclose(got, body_positions(model, result.qpos), atol=1e-5)  # 6-digit numbers: 10 um
    assert back.fps == pytest.approx(result.fps, rel=1e-6) and len(back.keypoints) == len(result.qpos)
    assert back.source["units_chosen"] == "given" and read_bvh(path, up=up).source["units"] == units


def test_npz_and_csv_hold_keypoints_contacts_and_the_root_wrench(tmp_path):
    result, _ = turned_result()
    result.root_wrench = np.arange(len(result.qpos) * 6, dtype=float).reshape(-1, 6)
    arrays = np.load(export(result, tmp_path / "motion.npz"))
    np.testing.assert_allclose(arrays["keypoints"], result.simulated, atol=1e-6)
    assert tuple(arrays["joint_names"]) == JOINTS and arrays["fps"] == result.fps
    np.testing.assert_array_equal(arrays["root_wrench"], result.root_wrench)
    with open(export(result, tmp_path / "motion.csv"), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["frame", "time_s", "pelvis_x", "pelvis_y", "pelvis_z"] and rows[0][-1] == "torque_z_nm"
    assert len(rows) == len(result.qpos) + 1 and float(rows[2][1]) == pytest.approx(1.0 / result.fps)
    np.testing.assert_allclose(np.array(rows[3][2:2 + 51], float), np.ravel(result.simulated[2]), atol=1e-6)


def test_recon_export_writes_the_file_and_refuses_bad_requests_in_one_line(tmp_path):
    result, _ = turned_result()
    source = tmp_path / "glide.h5"
    write_result(source, result)
    done = runner.invoke(app, ["export", str(source), "--to", str(tmp_path / "glide.bvh"), "--units", "cm"])
    assert done.exit_code == 0, done.output
    assert "wrote" in done.output and (tmp_path / "glide.bvh").read_text().startswith("HIERARCHY")
    keep = tmp_path / "keep.fbx"
    keep.write_text("old")
    for args, message in (([str(source), "--to", str(keep)], "keep.fbx: unknown export format '.fbx'"),
                          ([str(tmp_path / "none.h5"), "--to", str(tmp_path / "x.bvh")], "none.h5"),
                          ([str(source), "--to", str(tmp_path / "x.bvh"), "--up", "x"], "--up y|z")):  # fmt: skip
        failed = runner.invoke(app, ["export", *args])
        assert failed.exit_code == 2 and message in failed.output and len(failed.output.strip().splitlines()) == 1, failed.output
    assert keep.read_text() == "old"
