"""Unit quaternions (w, x, y, z) in JAX: product, rotation, rotation vector, slerp.

Every function works on the last axis and broadcasts over leading axes, so it runs under
``jit``, ``vmap`` and ``grad``. The logarithm and slerp are written so that their gradients stay
finite at the identity (where ``atan2``/``sin`` have removable singularities).
"""

from __future__ import annotations

import jax.numpy as jnp

IDENTITY = (1.0, 0.0, 0.0, 0.0)
_SMALL = 1e-6


def mul(a, b):
    """Hamilton product a * b (apply b, then a)."""
    aw, ax, ay, az = jnp.moveaxis(a, -1, 0)
    bw, bx, by, bz = jnp.moveaxis(b, -1, 0)
    return jnp.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conj(q):
    """Inverse of a unit quaternion."""
    return q * jnp.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def normalize(q):
    return q / jnp.linalg.norm(q, axis=-1, keepdims=True)


def rotate(q, v):
    """Rotates vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * jnp.cross(u, v)
    return v + w * t + jnp.cross(u, t)


def _safe_norm(v):
    sq = jnp.sum(v * v, axis=-1, keepdims=True)
    safe = jnp.where(sq > _SMALL**2, sq, 1.0)
    return jnp.where(sq > _SMALL**2, jnp.sqrt(safe), 0.0), sq > _SMALL**2


def to_rotvec(q):
    """Rotation vector (axis * angle, angle in [0, pi]) of unit quaternions; the shorter of q, -q."""
    q = jnp.where(q[..., :1] < 0, -q, q)
    w, u = q[..., :1], q[..., 1:]
    s, big = _safe_norm(u)
    angle = 2.0 * jnp.arctan2(s, w)
    # angle / sin(angle / 2) -> 2 / w (first order) as u -> 0
    scale = jnp.where(big, angle / jnp.where(big, s, 1.0), 2.0 / w)
    return u * scale


def from_rotvec(r):
    """Unit quaternions of rotation vectors (..., 3)."""
    angle, big = _safe_norm(r)
    half = 0.5 * angle
    # sin(angle / 2) / angle -> 1/2 - angle^2 / 48
    scale = jnp.where(big, jnp.sin(half) / jnp.where(big, angle, 1.0), 0.5 - jnp.sum(r * r, -1, keepdims=True) / 48)
    return jnp.concatenate([jnp.cos(half), r * scale], axis=-1)


def slerp(a, b, t):
    """Spherical interpolation from ``a`` (t = 0) to ``b`` (t = 1) along the shorter arc."""
    d = mul(conj(a), b)
    return mul(a, from_rotvec(jnp.asarray(t)[..., None] * to_rotvec(d)))


def to_matrix(q):
    """Rotation matrices (..., 3, 3) of unit quaternions."""
    eye = jnp.eye(3, dtype=q.dtype)
    return jnp.stack([rotate(q, eye[i]) for i in range(3)], axis=-1)
