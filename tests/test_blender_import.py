"""A real client: Blender (``bpy`` 5.0.1, Blender as a Python module) imports our BVH and GLB
exports with its own importers, and its joints and nodes move as the simulated bodies.

bpy pins numpy < 2, which the project's jax excludes, so Blender lives in a virtualenv of its own
(``.venv-blender``, or the Python named by ``MOTION_RECON_BLENDER_PYTHON``) and runs
``blender_client.py`` there; without it the test is skipped (README, "Data in and out").
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines.export import export

from posed_results import body_positions, turned_result

ROOT = Path(__file__).resolve().parents[1]
BLENDER_PYTHON = Path(os.environ.get("MOTION_RECON_BLENDER_PYTHON", ROOT / ".venv-blender" / "bin" / "python"))
INSTALL = "python3.11 -m venv .venv-blender && .venv-blender/bin/pip install bpy==5.0.1"
FRAMES = (0, 3, 5)
# float32 in Blender, 6-decimal BVH numbers (0.2 um measured); the issue asks for 1 cm
BLENDER_TOL_M = 1e-5


@pytest.fixture(scope="module")
def blender(tmp_path_factory):
    """The exported turned glide, and Blender's report on it (blender_client.py)."""
    if not BLENDER_PYTHON.is_file():
        pytest.skip(f"Blender client not installed ({BLENDER_PYTHON}): bpy pins numpy<2, which jax excludes; "
                    f"install it in a venv of its own: {INSTALL}")  # fmt: skip
    pytest.importorskip("pygltflib", reason="GLB export needs the export extra: pip install -e '.[export]'")
    folder = tmp_path_factory.mktemp("blender")
    result, model = turned_result()
    bvh, glb, report = export(result, folder / "motion.bvh"), export(result, folder / "motion.glb"), folder / "blender.json"
    command = [str(BLENDER_PYTHON), str(ROOT / "tests" / "blender_client.py"), str(bvh), str(glb), str(result.fps), str(report)]
    done = subprocess.run(command + [str(f) for f in FRAMES], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return result, model, json.loads(report.read_text())


def test_blender_reads_our_bvh_at_its_frame_rate_with_the_simulated_joint_positions(blender):
    result, model, report = blender
    bvh = report["bvh"]
    assert bvh["fps"] == pytest.approx(result.fps, rel=1e-6)
    first = bvh["first_frame"]
    assert bvh["keyframes"] and all(k == [first + t for t in range(len(result.qpos))] for k in bvh["keyframes"])
    names = [model.body(b).name for b in range(1, model.nbody)]
    got = np.array([bvh["positions"][n] for n in names]).transpose(1, 0, 2)  # (frames, bodies, 3)
    np.testing.assert_allclose(got, body_positions(model, result.qpos)[list(FRAMES)], atol=BLENDER_TOL_M)


def test_blender_reads_our_glb_with_keyframes_at_the_frames_and_the_simulated_body_positions(blender):
    result, model, report = blender
    glb = report["glb"]
    assert glb["fps"] == pytest.approx(result.fps, rel=1e-6)
    # one curve per coordinate: the root's location (3) and every body's rotation (4 each)
    assert len(glb["keyframes"]) == 3 + 4 * (model.nbody - 1)
    assert all(k == pytest.approx(list(range(len(result.qpos))), abs=1e-4) for k in glb["keyframes"])
    names = [model.body(b).name for b in range(1, model.nbody)]
    assert set(glb["positions"]) == set(names) | {"floor"}
    got = np.array([glb["positions"][n] for n in names]).transpose(1, 0, 2)
    np.testing.assert_allclose(got, body_positions(model, result.qpos)[list(FRAMES)], atol=BLENDER_TOL_M)

