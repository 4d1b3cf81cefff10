"""Overlay videos (pyrender over video frames, the 3D view) and ``recon render``."""

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.perception.cameras import Camera
from motion_recon.result_file import write_result
from pipelines.cli import app
from pipelines.video import isolated
from viewer.overlay import write_overlay
from viewer.scene import body_scene

from posed_results import SIZE, STEP, posed_result
from video_files import read_video, write_video

runner = CliRunner()
FRAMES = 10


def background(frames: int = FRAMES) -> list[np.ndarray]:
    """A smooth colour gradient, the same in every frame (H.264 keeps it nearly exact)."""
    x, y = np.meshgrid(np.linspace(0, 1, SIZE[0]), np.linspace(0, 1, SIZE[1]))
    image = np.stack([60 + 80 * x, 70 + 60 * y, 90 + 40 * x * y], -1).astype(np.uint8)
    return [image] * frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The gliding body's result and the video it was 'made from'."""
    folder = tmp_path_factory.mktemp("overlay")
    video = folder / "input.mp4"
    isolated(write_video, video, background())
    return posed_result(FRAMES, video=video), video


def distance_to_body(result, frame: int) -> np.ndarray:
    """(H, W) pixel distance to the projected capsule axes, in units of each capsule's projected
    radius (< 1 on the body's silhouette, roughly)."""
    scene, camera = body_scene(result), Camera.from_dict(result.camera)
    poses = scene.matrices(frame)
    u = np.linspace(-1.0, 1.0, 60)[:, None]
    rows, cols = np.mgrid[: SIZE[1], : SIZE[0]]
    pixels = np.stack([cols, rows], -1).reshape(-1, 1, 2).astype(float)
    nearest = np.full(len(pixels), np.inf)
    for pose, radius, half in zip(poses, scene.radius, scene.half_length, strict=True):
        axis = pose[:3, 3] + u * half * pose[:3, 2]  # points along the capsule's axis
        depth = (axis @ camera.R.T + camera.t)[:, 2]
        projected = np.asarray(camera.project(axis))
        radius_px = camera.K[0, 0] * radius / depth
        ratio = np.linalg.norm(pixels - projected[None], axis=-1) / radius_px
        nearest = np.minimum(nearest, ratio.min(axis=1))
    return nearest.reshape(SIZE[1], SIZE[0])


def test_overlay_draws_the_body_where_it_projects_and_nowhere_far(clip, tmp_path):
    result, video = clip
    out = tmp_path / "overlay.mp4"
    assert isolated(write_overlay, out, result, video, 0) == FRAMES
    frames, original = isolated(read_video, out), isolated(read_video, video)
    assert frames.shape == (FRAMES, SIZE[1], SIZE[0], 3)
    for t in (0, FRAMES - 1):
        changed = np.abs(frames[t].astype(int) - original[t]).max(-1) > 40
        distance = distance_to_body(result, t)
        assert changed[distance < 0.6].mean() > 0.9  # the body's core is painted
        far = distance > 3.0
        assert changed[far].mean() < 0.002, changed[far].sum()  # nothing far from the body
    moved = np.argwhere(np.abs(frames[-1].astype(int) - original[-1]).max(-1) > 40)[:, 1].mean()
    first = np.argwhere(np.abs(frames[0].astype(int) - original[0]).max(-1) > 40)[:, 1].mean()
    focal = Camera.from_dict(result.camera).K[0, 0]
    assert moved - first == pytest.approx(focal * STEP * (FRAMES - 1) / 4.0, abs=2.0)  # glides right, 4 m away


def test_side_by_side_view_and_the_3d_scene_alone(clip, tmp_path):
    result, video = clip
    both, alone = tmp_path / "both.mp4", tmp_path / "alone.mp4"
    isolated(write_overlay, both, result, video, 0, True)
    assert isolated(read_video, both).shape == (FRAMES, SIZE[1], SIZE[0] + SIZE[1], 3)
    isolated(write_overlay, alone, result, None)
    scene = isolated(read_video, alone)
    assert scene.shape == (FRAMES, 720, 960, 3)
    body = (scene[0, ..., 2] > 200) & (scene[0, ..., 0] < 120)  # the body's light blue
    red = (scene[0, ..., 0] > 150) & (scene[0, ..., 1] < 80)  # contact discs under both feet
    assert body.sum() > 5000 and red.sum() > 20
    assert len(np.unique(scene[0, 600:].reshape(-1, 3) // 32, axis=0)) >= 2  # the floor's checkerboard


def test_recon_render_finds_the_video_and_keeps_outputs_on_errors(clip, tmp_path):
    result, video = clip
    path = tmp_path / "glide.h5"
    write_result(path, result)
    out = tmp_path / "render.mp4"
    done = runner.invoke(app, ["render", str(path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"{FRAMES} frames, over {video}" in done.output and out.stat().st_size > 1000
    before = out.read_bytes()
    for args, message in (
        (["--video", str(tmp_path / "gone.mp4")], "gone.mp4: no such file"),
        (["--first", "500"], "the result starts at frame 500"),
    ):
        failed = runner.invoke(app, ["render", str(path), "--out", str(out), *args])
        assert failed.exit_code == 2 and message in failed.output, failed.output
    assert out.read_bytes() == before
    result.camera = None
    write_result(path, result)
    failed = runner.invoke(app, ["render", str(path), "--out", str(out), "--video", str(video)])
    assert failed.exit_code == 2 and "has no camera" in failed.output
