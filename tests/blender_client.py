"""What Blender makes of our exports: run by a Python that has ``bpy`` (Blender as a module, which
pins numpy < 2 and so lives in a virtualenv of its own), not by the project's.

    python blender_client.py MOTION.bvh MOTION.glb FPS OUT.json FRAME [FRAME ...]

Imports the BVH (``import_anim.bvh``, Blender's defaults: y up, scene frame rate from the file)
and, in a fresh scene at FPS frames per second (glTF keyframes are in seconds), the GLB
(``import_scene.gltf``), and writes to OUT.json for each: the scene frame rate, the keyframe
frames of every animation curve, and at each FRAME (0-based) the world position of every BVH
joint (its bone's head) or glTF node (its object's origin), Blender's axes (z up), metres.
"""

import json
import sys

import bpy
from bpy_extras import anim_utils


def keyframes(objects) -> list[list[float]]:
    """The keyframe frames of every curve of the objects' animations."""
    out = []
    for obj in objects:
        animation = obj.animation_data
        if animation is None or animation.action is None:
            continue
        for curve in anim_utils.action_get_channelbag_for_slot(animation.action, animation.action_slot).fcurves:
            out.append([key.co[0] for key in curve.keyframe_points])
    return out


def bvh(path: str, frames: list[int]) -> dict:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=path, update_scene_fps=True, update_scene_duration=True)
    scene = bpy.context.scene
    (armature,) = [obj for obj in scene.objects if obj.type == "ARMATURE"]
    positions = {bone.name: [] for bone in armature.pose.bones}
    for frame in frames:
        scene.frame_set(scene.frame_start + frame)
        for bone in armature.pose.bones:
            positions[bone.name].append(list(armature.matrix_world @ bone.head))
    return {"fps": scene.render.fps / scene.render.fps_base, "first_frame": scene.frame_start,
            "keyframes": keyframes([armature]), "positions": positions}  # fmt: skip


def glb(path: str, fps: float, frames: list[int]) -> dict:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    bpy.ops.import_scene.gltf(filepath=path)
    objects = list(scene.objects)
    positions = {obj.name: [] for obj in objects}
    for frame in frames:
        scene.frame_set(frame)  # the glTF importer puts time 0 at frame 0
        for obj in objects:
            positions[obj.name].append(list(obj.matrix_world.translation))
    return {"fps": scene.render.fps / scene.render.fps_base, "keyframes": keyframes(objects), "positions": positions}


if __name__ == "__main__":
    bvh_path, glb_path, fps, out, *frames = sys.argv[1:]
    frames = [int(f) for f in frames]
    report = {"blender": bpy.app.version_string, "bvh": bvh(bvh_path, frames), "glb": glb(glb_path, float(fps), frames)}
    with open(out, "w") as f:
        json.dump(report, f)
