"""A result's simulated motion as an animated glTF binary (``recon export RESULT.h5 --to FILE.glb``).

The scene is the physics model itself: one node per body of the humanoid, parented as its
kinematic tree, each with a mesh of its capsules and spheres (trimesh's, at the model's sizes and
placements), and a checkerboard floor at the result's ground height. One animation moves the root
node (translation) and turns every body node (rotation) at every frame of the result, keyframe
times frame / fps with linear interpolation (glTF slerps rotations): the same body rotations as the
BVH export. glTF is y up in metres, so world (x, y, z) is written as (x, z, -y).

The file is built with pygltflib, not trimesh's exporter: trimesh writes a static scene graph
only, while pygltflib spells out glTF 2.0's whole data model, animations included; trimesh only
makes the capsule meshes. Both are in the ``export`` extra and imported here, not by the core.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from body_models.model_files import result_mujoco_model
from motion_recon.datasets.sequence import Y_UP_TO_Z_UP
from motion_recon.result_file import MotionResult

Z_UP_TO_GLTF = Y_UP_TO_Z_UP.T  # world (z up) -> glTF (y up)
BODY_COLOUR = (0.35, 0.55, 0.85, 1.0)  # linear RGBA
FLOOR_COLOURS = ((0.75, 0.75, 0.75, 1.0), (0.45, 0.45, 0.45, 1.0))
TILE_M = 0.5  # floor checker size
FLOOR_MARGIN_M = 1.5  # floor beyond the root's path on every side
SEGMENTS = 16  # mesh resolution of capsules and spheres (around and along)


def write_glb(result: MotionResult, path) -> None:
    """Writes ``result``'s animated body and floor (see the module docstring) to ``path``."""
    try:
        import pygltflib as gl
        import trimesh  # noqa: F401  (the meshes, below)
    except ImportError as err:
        raise ImportError(f"GLB export needs pygltflib and trimesh: pip install -e '.[export]' ({err})") from None
    import mujoco

    model = result_mujoco_model(result.body)
    qpos = np.asarray(result.qpos, float)
    if qpos.ndim != 2 or qpos.shape[1] != model.nq or len(qpos) == 0:
        raise ValueError(f"{result.name}: simulation/qpos has shape {qpos.shape}, the body needs (T > 0, {model.nq})")
    from pipelines.export import body_rotations

    rotations = _continuous(_to_gltf(body_rotations(model, qpos)))  # (T, B, 4) [x, y, z, w]
    root_path = qpos[:, :3] @ Z_UP_TO_GLTF.T
    blob = _Blob(gl)
    nodes, meshes = [], []
    for body in range(1, model.nbody):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body)
        vertices, normals, faces = _body_mesh(model, body)
        meshes.append(gl.Mesh(name=name, primitives=[blob.primitive(vertices, normals, faces, material=0)]))
        offset = root_path[0] if body == 1 else Z_UP_TO_GLTF @ model.body_pos[body]
        children = [c - 1 for c in range(2, model.nbody) if model.body_parentid[c] == body]
        nodes.append(gl.Node(name=name, mesh=body - 1, children=children, translation=offset.tolist(),
                             rotation=rotations[0, body - 1].tolist()))  # fmt: skip
    ground = float(result.body.get("ground_height", 0.0))
    meshes.append(gl.Mesh(name="floor", primitives=_floor(blob, root_path, ground)))
    nodes.append(gl.Node(name="floor", mesh=len(meshes) - 1))

    times = blob.accessor(np.arange(len(qpos)) / float(result.fps), gl.SCALAR, bounds=True)
    samplers = [gl.AnimationSampler(input=times, output=blob.accessor(root_path, gl.VEC3), interpolation="LINEAR")]
    channels = [gl.AnimationChannel(sampler=0, target=gl.AnimationChannelTarget(node=0, path="translation"))]
    for b in range(model.nbody - 1):
        samplers.append(gl.AnimationSampler(input=times, output=blob.accessor(rotations[:, b], gl.VEC4), interpolation="LINEAR"))
        channels.append(gl.AnimationChannel(sampler=len(samplers) - 1, target=gl.AnimationChannelTarget(node=b, path="rotation")))

    def material(name, colour):
        return gl.Material(name=name, pbrMetallicRoughness=gl.PbrMetallicRoughness(
            baseColorFactor=list(colour), metallicFactor=0.0, roughnessFactor=0.8))  # fmt: skip

    gltf = gl.GLTF2(
        asset=gl.Asset(generator="motion-recon (recon export)", version="2.0"),
        scene=0, scenes=[gl.Scene(name=result.name, nodes=[0, len(nodes) - 1])], nodes=nodes, meshes=meshes,
        materials=[material("body", BODY_COLOUR), material("floor light", FLOOR_COLOURS[0]), material("floor dark", FLOOR_COLOURS[1])],
        animations=[gl.Animation(name=result.name, samplers=samplers, channels=channels)],
        accessors=blob.accessors, bufferViews=blob.views, buffers=[gl.Buffer(byteLength=len(blob.data))],
    )  # fmt: skip
    gltf.set_binary_blob(bytes(blob.data))
    gltf.save_binary(str(path))


class _Blob:
    """The GLB's binary chunk with its buffer views and accessors (float32 data, uint32 indices)."""

    def __init__(self, gl):
        self.gl, self.data, self.views, self.accessors = gl, bytearray(), [], []

    def accessor(self, array, kind, *, bounds=False, target=None, integer=False) -> int:
        gl = self.gl
        array = np.ascontiguousarray(array, np.uint32 if integer else np.float32)
        self.data += b"\0" * (-len(self.data) % 4)
        self.views.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes, target=target))
        self.data += array.tobytes()
        flat = array.reshape(len(array), -1)
        self.accessors.append(gl.Accessor(
            bufferView=len(self.views) - 1, componentType=gl.UNSIGNED_INT if integer else gl.FLOAT, count=len(array),
            type=kind, min=flat.min(0).tolist() if bounds else None, max=flat.max(0).tolist() if bounds else None))  # fmt: skip
        return len(self.accessors) - 1

    def primitive(self, vertices, normals, faces, material: int):
        gl = self.gl
        position = self.accessor(vertices, gl.VEC3, bounds=True, target=gl.ARRAY_BUFFER)  # glTF requires POSITION's bounds
        normal = self.accessor(normals, gl.VEC3, target=gl.ARRAY_BUFFER)
        indices = self.accessor(np.ravel(faces), gl.SCALAR, target=gl.ELEMENT_ARRAY_BUFFER, integer=True)
        return gl.Primitive(attributes=gl.Attributes(POSITION=position, NORMAL=normal), indices=indices, material=material)


def _body_mesh(model, body: int):
    """Vertices and normals (glTF axes, the body's frame) and triangles of a body's geoms."""
    import mujoco
    import trimesh

    parts = []
    for g in np.flatnonzero(model.geom_bodyid == body):
        pose = np.eye(4)
        pose[:3, :3] = Z_UP_TO_GLTF @ Rotation.from_quat(model.geom_quat[g], scalar_first=True).as_matrix()
        pose[:3, 3] = Z_UP_TO_GLTF @ model.geom_pos[g]
        radius, half_length = model.geom_size[g, :2]
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE:  # axis along the geom's z, as trimesh's
            part = trimesh.creation.capsule(height=2 * half_length, radius=radius, count=[SEGMENTS, SEGMENTS])
        else:  # the model has capsules and spheres only
            part = trimesh.creation.uv_sphere(radius=radius, count=[SEGMENTS, SEGMENTS])
        parts.append(part.apply_transform(pose))
    mesh = trimesh.util.concatenate(parts)
    return mesh.vertices, mesh.vertex_normals, mesh.faces


def _floor(blob, root_path: np.ndarray, ground: float) -> list:
    """Two primitives (light and dark squares) of a checkerboard at height ``ground`` under the
    root's path (glTF axes), ``FLOOR_MARGIN_M`` beyond it."""
    low = np.floor((root_path[:, [0, 2]].min(0) - FLOOR_MARGIN_M) / TILE_M).astype(int)
    high = np.ceil((root_path[:, [0, 2]].max(0) + FLOOR_MARGIN_M) / TILE_M).astype(int)
    squares = [[], []]
    for i in range(low[0], high[0]):
        for k in range(low[1], high[1]):
            squares[(i + k) % 2].append((i, k))
    primitives = []
    for colour, tiles in enumerate(squares):
        corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]])  # counter-clockwise seen from +y
        xz = (np.array(tiles)[:, None, :] + corners) * TILE_M  # (N, 4, 2)
        vertices = np.stack([xz[..., 0], np.full(xz.shape[:2], ground), xz[..., 1]], -1).reshape(-1, 3)
        first = 4 * np.arange(len(tiles))[:, None]
        faces = np.concatenate([first + [0, 1, 2], first + [0, 2, 3]])
        normals = np.tile([0.0, 1.0, 0.0], (len(vertices), 1))
        primitives.append(blob.primitive(vertices, normals, faces, material=1 + colour))
    return primitives


def _to_gltf(quaternions: np.ndarray) -> np.ndarray:
    """(..., 4) world-frame [w, x, y, z] rotations -> glTF-axes [x, y, z, w] (A R A^T)."""
    matrices = Z_UP_TO_GLTF @ Rotation.from_quat(quaternions.reshape(-1, 4), scalar_first=True).as_matrix() @ Z_UP_TO_GLTF.T
    return Rotation.from_matrix(matrices).as_quat().reshape(quaternions.shape)


def _continuous(quaternions: np.ndarray) -> np.ndarray:
    """(T, B, 4) the same rotations with q or -q chosen so consecutive frames' quaternions agree
    in sign: the path between keyframes then is the short one in every importer."""
    out = quaternions.copy()
    for t in range(1, len(out)):
        out[t] *= np.where(np.sum(out[t] * out[t - 1], -1, keepdims=True) < 0.0, -1.0, 1.0)
    return out
