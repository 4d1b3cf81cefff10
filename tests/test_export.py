"""``recon export``: a result's motion as BVH (read back by our reader), GLB (read back by pygltflib),
npz and CSV."""

import csv
import sys

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from motion_recon.datasets.bvh import read_bvh
from motion_recon.result_file import write_result
from motion_recon.skeleton import JOINTS
from pipelines.cli import app
from pipelines.export import export
from pipelines.glb import Z_UP_TO_GLTF

from posed_results import body_positions, turned_result

runner = CliRunner()


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


def gltf_array(gltf, accessor: int) -> np.ndarray:
    """An accessor's data from a GLB's binary chunk: (count,) or (count, n), float32 or uint32."""
    a = gltf.accessors[accessor]
    view = gltf.bufferViews[a.bufferView]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[a.type]
    dtype = np.float32 if a.componentType == 5126 else np.uint32
    data = np.frombuffer(gltf.binary_blob(), dtype, a.count * width, view.byteOffset + (a.byteOffset or 0))
    return data.reshape(a.count, width) if width > 1 else data


def gltf_world_positions(gltf, frame: int) -> np.ndarray:
    """(N, 3) every node's world position at ``frame``, composed down the node tree from the
    nodes' rest transforms with the animation's keyframe values put in."""
    local = [(np.array(n.translation or [0.0, 0.0, 0.0]), Rotation.from_quat(n.rotation or [0.0, 0.0, 0.0, 1.0])) for n in gltf.nodes]
    animation = gltf.animations[0]
    for channel in animation.channels:
        value = gltf_array(gltf, animation.samplers[channel.sampler].output)[frame].astype(float)
        t, r = local[channel.target.node]
        local[channel.target.node] = (value, r) if channel.target.path == "translation" else (t, Rotation.from_quat(value))
    world = np.zeros((len(gltf.nodes), 3))

    def visit(node: int, position, rotation) -> None:
        t, r = local[node]
        world[node] = position + rotation.apply(t)
        for child in gltf.nodes[node].children:
            visit(child, world[node], rotation * r)

    for root in gltf.scenes[gltf.scene].nodes:
        visit(root, np.zeros(3), Rotation.identity())
    return world


def test_glb_read_back_by_pygltflib_moves_its_nodes_as_the_simulated_bodies(tmp_path):
    pygltflib = pytest.importorskip("pygltflib", reason="GLB export needs the export extra: pip install -e '.[export]'")
    result, model = turned_result()
    result.body["ground_height"] = 0.05
    gltf = pygltflib.GLTF2().load_binary(str(export(result, tmp_path / "motion.glb")))
    bodies = model.nbody - 1
    assert len(gltf.nodes) == bodies + 1 and gltf.nodes[-1].name == "floor"  # one node per body, and the floor
    assert [n.name for n in gltf.nodes[:bodies]] == [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(1, model.nbody)]
    animation = gltf.animations[0]
    assert len(animation.samplers) == bodies + 1  # the root's translation, every body's rotation
    for sampler in animation.samplers:
        np.testing.assert_allclose(gltf_array(gltf, sampler.input), np.arange(len(result.qpos)) / result.fps, rtol=1e-7)
    expected = body_positions(model, result.qpos) @ Z_UP_TO_GLTF.T  # glTF is y up
    for frame in (0, 2, 5):
        np.testing.assert_allclose(gltf_world_positions(gltf, frame)[:bodies], expected[frame], atol=1e-5)  # float32: 0.1 um
    floor = gltf_array(gltf, gltf.meshes[-1].primitives[0].attributes.POSITION)
    assert np.all(floor[:, 1] == np.float32(0.05))  # at the ground height
    assert floor[:, 0].min() < expected[:, 0, 0].min() - 1.0 and floor[:, 0].max() > expected[:, 0, 0].max() + 1.0
    pelvis = gltf_array(gltf, gltf.meshes[0].primitives[0].attributes.POSITION)
    assert 0.05 < np.ptp(pelvis, 0).max() < 0.5  # a capsule mesh of the pelvis's size, in metres


def test_glb_export_without_pygltflib_names_the_extra_and_keeps_the_old_file(tmp_path, monkeypatch):
    result, _ = turned_result()
    source = tmp_path / "glide.h5"
    write_result(source, result)
    keep = tmp_path / "keep.glb"
    keep.write_text("old")
    monkeypatch.setitem(sys.modules, "pygltflib", None)  # import fails as if not installed
    failed = runner.invoke(app, ["export", str(source), "--to", str(keep)])
    assert failed.exit_code == 2 and "pip install -e '.[export]'" in failed.output, failed.output
    assert len(failed.output.strip().splitlines()) == 1 and keep.read_text() == "old"
