"""Pinhole cameras with OpenCV's lens distortion (radial k1, k2, k3; tangential p1, p2).

Frames: the world is z up, metres; a camera frame is OpenCV's (x right, y down, z forward), and
``world_to_camera(X) = R @ X + t``. Pixels are (u right, v down) with (0, 0) at the centre of the
top-left pixel, as OpenCV's ``projectPoints`` returns them.

``project`` and ``world_to_camera`` are written against an array module ``xp`` (``jax.numpy`` by
default), so the 2D reprojection loss can jit and differentiate them; ``Camera.project`` runs them in
numpy float64 for numpy input and in JAX for JAX input.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

# Depths below this (metres) are clamped in ``project``: points at or behind the camera then give
# finite, meaningless pixels and zero depth gradient instead of inf/NaN inside a jitted loss.
MIN_DEPTH_M = 1e-3


def world_to_camera(points, R, t, *, xp=jnp):
    """Camera-frame coordinates of world points.

    Args:
      points: (*, 3) world points, metres, z up.
      R: (3, 3) world-to-camera rotation.
      t: (3,) world-to-camera translation, metres.
      xp: array module (``jax.numpy`` or ``numpy``).
    Returns:
      (*, 3) points in the camera frame (x right, y down, z forward), metres.
    """
    return xp.asarray(points) @ xp.asarray(R).T + xp.asarray(t)


def apply_distortion(xy, dist, *, xp=jnp):
    """OpenCV's lens distortion of normalised image coordinates.

    Args:
      xy: (*, 2) undistorted normalised coordinates (x/z, y/z).
      dist: (5,) [k1, k2, p1, p2, k3], OpenCV's order.
    Returns:
      (*, 2) distorted normalised coordinates.
    """
    k1, k2, p1, p2, k3 = (dist[i] for i in range(5))
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xp.stack([xd, yd], axis=-1)


def project(points, K, dist, R, t, *, distort: bool = True, xp=jnp):
    """Pixels of world points, as OpenCV's ``cv2.projectPoints`` computes them.

    Differentiable (``jax.grad``) and jittable with the default ``xp=jax.numpy``.

    Args:
      points: (*, 3) world points, metres, z up.
      K: (3, 3) intrinsic matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]], pixels (the skew s is
        applied; OpenCV's projectPoints ignores it, and every camera shipped here has s = 0).
      dist: (5,) distortion [k1, k2, p1, p2, k3]; ignored when ``distort`` is false.
      R: (3, 3) world-to-camera rotation.
      t: (3,) world-to-camera translation, metres.
      distort: apply the lens distortion (false: ideal pinhole).
      xp: array module (``jax.numpy`` or ``numpy``).
    Returns:
      (*, 2) pixel coordinates (u right, v down). Points closer than MIN_DEPTH_M in front of the
      camera (or behind it) are projected as if at MIN_DEPTH_M: finite but meaningless.
    """
    cam = world_to_camera(points, R, t, xp=xp)
    z = xp.maximum(cam[..., 2:3], MIN_DEPTH_M)  # maximum keeps the division finite in the gradient
    xy = cam[..., :2] / z
    if distort:
        xy = apply_distortion(xy, xp.asarray(dist), xp=xp)
    K = xp.asarray(K)
    u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
    v = K[1, 1] * xy[..., 1] + K[1, 2]
    return xp.stack([u, v], axis=-1)


def undistort_pixels(pixels, K, dist, iterations: int = 20) -> np.ndarray:
    """The pixels an ideal pinhole camera of intrinsics ``K`` would see for distorted ``pixels``
    (*, 2) (numpy): the inverse of ``apply_distortion``, by fixed-point iteration as OpenCV's
    ``undistortPoints`` runs it (exact for moderate distortion; NaN pixels stay NaN)."""
    K, dist = np.asarray(K, float), np.asarray(dist, float)
    pixels = np.asarray(pixels, float)
    if not np.any(dist):
        return pixels.copy()
    fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    yd = (pixels[..., 1] - cy) / fy
    distorted = np.stack([(pixels[..., 0] - cx - s * yd) / fx, yd], axis=-1)
    xy = distorted
    for _ in range(iterations):  # x = (x_d - tangential(x)) / radial(x)
        error = apply_distortion(xy, dist, xp=np) - distorted
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1.0 + r2 * (dist[0] + r2 * (dist[1] + r2 * dist[4]))
        xy = xy - error / radial[..., None]
    u = K[0, 0] * xy[..., 0] + s * xy[..., 1] + cx
    return np.stack([u, fy * xy[..., 1] + cy], axis=-1)


def _array(value, shape, what: str, name: str) -> np.ndarray:
    array = np.array(value, dtype=float)
    if array.shape != shape:
        raise ValueError(f"camera {name!r}: {what} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"camera {name!r}: {what} has non-finite values")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (OpenCV convention, world z up, metres).

    Attributes:
      name: camera id ("60457274", "c01", ...).
      width, height: image size, pixels.
      K: (3, 3) intrinsic matrix, pixels.
      dist: (5,) distortion [k1, k2, p1, p2, k3], OpenCV's order.
      R: (3, 3) world-to-camera rotation.
      t: (3,) world-to-camera translation, metres (the camera centre is ``-R.T @ t``).
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def __post_init__(self):
        name = str(self.name)
        object.__setattr__(self, "name", name)
        if int(self.width) != self.width or int(self.height) != self.height or min(self.width, self.height) <= 0:
            raise ValueError(f"camera {name!r}: image size must be positive whole pixels, "
                             f"got {self.width}x{self.height}")  # fmt: skip
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        object.__setattr__(self, "K", _array(self.K, (3, 3), "K", name))
        object.__setattr__(self, "dist", _array(self.dist, (5,), "dist [k1, k2, p1, p2, k3]", name))
        object.__setattr__(self, "R", _array(self.R, (3, 3), "R", name))
        object.__setattr__(self, "t", _array(self.t, (3,), "t", name))
        if not np.allclose(self.R @ self.R.T, np.eye(3), atol=1e-5) or np.linalg.det(self.R) <= 0:
            raise ValueError(f"camera {name!r}: R is not a rotation matrix")

    @property
    def centre(self) -> np.ndarray:
        """(3,) camera centre in the world, metres."""
        return -self.R.T @ self.t

    def world_to_camera(self, points):
        """(*, 3) world points (metres) in this camera's frame; numpy float64 for numpy input,
        JAX for JAX input."""
        return world_to_camera(points, self.R, self.t, xp=_xp(points))

    def project(self, points, *, distort: bool = True):
        """(*, 2) pixels of (*, 3) world points (metres); see ``project``. numpy float64 for numpy
        input, JAX (jittable, differentiable) for JAX input."""
        return project(points, self.K, self.dist, self.R, self.t, distort=distort, xp=_xp(points))

    def to_dict(self) -> dict:
        """Plain lists, for JSON result files; ``Camera.from_dict`` reads it back."""
        return {"name": self.name, "width": self.width, "height": self.height, "K": self.K.tolist(),
                "dist": self.dist.tolist(), "R": self.R.tolist(), "t": self.t.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> Camera:
        """The camera ``to_dict`` wrote; a ValueError names missing keys."""
        keys = ("name", "width", "height", "K", "dist", "R", "t")
        if not isinstance(data, dict) or any(key not in data for key in keys):
            missing = [key for key in keys if not isinstance(data, dict) or key not in data]
            raise ValueError(f"camera record lacks {', '.join(missing)}")
        return cls(**{key: data[key] for key in keys})


def _xp(points):
    return jnp if isinstance(points, jax.Array) else np
