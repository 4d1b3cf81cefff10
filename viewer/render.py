"""Offscreen rendering of a result's 3D scene with pyrender: the simulated body's capsules (meshes
matching the physics model), the floor as a checkerboard and a red disc under each foot that
touches it, seen through the video's camera (for overlays) or through a camera that follows the
body from the side.

Cameras are OpenCV cameras (x_c = R X + t, pixels with integer centres); lens distortion is not
modelled (the video flow's fitted cameras have none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gl import offscreen_renderer, pyrender
from .scene import BodyScene

BODY_RGBA = (0.2, 0.75, 1.0, 1.0)
CONTACT_RGBA = (1.0, 0.15, 0.1, 1.0)
TILE = 0.5  # m, floor checkerboard
FLOOR_TILES = 40  # per side
CONTACT_DISC = (0.07, 0.004)  # radius, height (m)


@dataclass(frozen=True)
class ViewCamera:
    """An OpenCV pinhole camera: intrinsics ``K`` (3, 3), world-to-camera ``R`` (3, 3), ``t`` (3,)
    in metres, image size in pixels."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    @classmethod
    def from_result(cls, camera: dict, width: int | None = None, height: int | None = None) -> ViewCamera:
        return cls(np.asarray(camera["K"], float), np.asarray(camera["R"], float), np.asarray(camera["t"], float),
                   int(width or camera["width"]), int(height or camera["height"]))  # fmt: skip

    @classmethod
    def looking_at(cls, eye, target, width: int, height: int, horizontal_fov_deg: float = 50.0) -> ViewCamera:
        """A camera at ``eye`` looking at ``target`` with the world's z axis up in the image."""
        forward = np.asarray(target, float) - np.asarray(eye, float)
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        R = np.stack([right, np.cross(forward, right), forward])
        focal = 0.5 * width / np.tan(np.radians(horizontal_fov_deg) / 2)
        K = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
        return cls(K, R, -R @ np.asarray(eye, float), width, height)

    def pose(self) -> np.ndarray:
        """The camera's pose in pyrender's (OpenGL) convention: camera to world, y up, looking down -z."""
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = self.R.T, -self.R.T @ self.t
        return pose @ np.diag([1.0, -1.0, -1.0, 1.0])


class SceneRenderer:
    """Renders the frames of a ``BodyScene`` through ``ViewCamera`` s as RGBA images
    (premultiplied alpha, transparent where nothing was drawn)."""

    def __init__(self, scene: BodyScene):
        pr = pyrender()
        import trimesh

        self.body, self.pr = scene, pr
        self.scene = pr.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.35, 0.35, 0.35])
        skin = pr.MetallicRoughnessMaterial(baseColorFactor=BODY_RGBA, metallicFactor=0.0, roughnessFactor=0.6)
        self.capsules = []
        for radius, half in zip(scene.radius, scene.half_length, strict=True):
            shape = (trimesh.creation.capsule(height=2 * half, radius=radius, count=[16, 16]) if half > 0
                     else trimesh.creation.icosphere(subdivisions=2, radius=radius))  # fmt: skip
            self.capsules.append(self.scene.add(pr.Mesh.from_trimesh(shape, material=skin, smooth=True)))
        red = pr.MetallicRoughnessMaterial(baseColorFactor=CONTACT_RGBA, metallicFactor=0.0, roughnessFactor=0.8)
        disc = trimesh.creation.cylinder(radius=CONTACT_DISC[0], height=CONTACT_DISC[1], sections=24)
        self.discs = [pr.Mesh.from_trimesh(disc, material=red) for _ in scene.contact_bodies]
        self.disc_nodes = [self.scene.add(mesh) for mesh in self.discs]
        centre = np.nanmedian(scene.position[:, 0, :2], axis=0)
        self.floor = pr.Mesh.from_trimesh(checkerboard(centre, scene.ground), smooth=False)
        self.scene.add(self.floor)
        self.light = self.scene.add(pr.DirectionalLight(color=np.ones(3), intensity=3.0))
        self.renderer = None  # one OpenGL context: meshes are bound to the context that drew them first

    def render(self, frame: int, camera: ViewCamera, floor: bool = True) -> np.ndarray:
        """(height, width, 4) uint8 RGBA of ``frame`` seen by ``camera``; ``floor`` False leaves
        the floor out (for drawing over video, where the video shows the real floor)."""
        for node, pose in zip(self.capsules, self.body.matrices(frame), strict=True):
            self.scene.set_pose(node, pose)
        for node, mesh, touching, point in zip(self.disc_nodes, self.discs, self.body.contact[frame],
                                               self.body.contact_point[frame], strict=True):  # fmt: skip
            mesh.is_visible = bool(touching)
            self.scene.set_pose(node, _translation(point + [0.0, 0.0, CONTACT_DISC[1] / 2]))
        self.floor.is_visible = floor
        K = camera.K
        lens = self.pr.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2] + 0.5, K[1, 2] + 0.5, znear=0.05, zfar=200.0)
        node = self.scene.add(lens, pose=camera.pose())
        self.scene.set_pose(self.light, camera.pose())
        try:
            if self.renderer is None:
                self.renderer = offscreen_renderer(camera.width, camera.height)
            self.renderer.viewport_width, self.renderer.viewport_height = camera.width, camera.height
            rgba, _ = self.renderer.render(self.scene, flags=self.pr.RenderFlags.RGBA)
        finally:
            self.scene.remove_node(node)
        return rgba

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.delete()
            self.renderer = None


def side_camera(target, width: int, height: int, view_from, ground: float = 0.0) -> ViewCamera:
    """A camera 4 m from ``target`` (x, y: the body's pelvis) and 1.6 m above the floor (at
    ``ground``), looking at it from the horizontal direction ``view_from`` (world x, y)."""
    direction = np.array([*view_from, 0.0]) / np.linalg.norm(view_from)
    aim = np.array([target[0], target[1], ground + 0.8])
    return ViewCamera.looking_at(aim + 4.0 * direction + [0.0, 0.0, 0.8], aim, width, height, horizontal_fov_deg=45.0)


def composite(frame: np.ndarray, rgba: np.ndarray, opacity: float = 0.8) -> np.ndarray:
    """``rgba`` (premultiplied, as rendered) drawn over the RGB ``frame`` with ``opacity``."""
    alpha = opacity * rgba[..., 3:].astype(np.float32) / 255.0
    out = frame.astype(np.float32) * (1.0 - alpha) + opacity * rgba[..., :3].astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def checkerboard(centre, height: float = 0.0) -> object:
    """A trimesh of the floor z = ``height``: ``FLOOR_TILES`` x ``FLOOR_TILES`` tiles of ``TILE`` m
    around ``centre`` (x, y), snapped to the tile grid, in two greys."""
    import trimesh

    half = FLOOR_TILES * TILE / 2
    x0, y0 = np.floor((np.asarray(centre, float) - half) / TILE) * TILE
    i, j = np.meshgrid(np.arange(FLOOR_TILES), np.arange(FLOOR_TILES), indexing="ij")
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    xy = (np.stack([i, j], -1).reshape(-1, 1, 2) + corners) * TILE + [x0, y0]
    vertices = np.concatenate([xy, np.full(xy.shape[:2] + (1,), height)], -1).reshape(-1, 3)
    base = 4 * np.arange(FLOOR_TILES**2)[:, None]
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])
    dark = ((i + j) % 2).ravel().astype(bool)
    colors = np.where(np.concatenate([dark, dark])[:, None], [150, 150, 150, 255], [215, 215, 215, 255])
    return trimesh.Trimesh(vertices, faces, face_colors=colors.astype(np.uint8), process=False)


def _translation(point) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = point
    return pose
