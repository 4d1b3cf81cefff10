"""Renders frames of an exported GLB headless with Blender (``bpy``, Workbench engine): the picture
of an exported motion in the README. Run by the Blender client's Python (.venv-blender):

    .venv-blender/bin/python docs/blender_render.py walk.glb 25 OUT.png FRAME [FRAME ...]

FPS is the result's frame rate (glTF keyframes are in seconds); the body is drawn at every FRAME
over one another, lighter for earlier ones, seen from the side of its path, 640x360.
"""

import sys

import bpy
from mathutils import Vector

WIDTH, HEIGHT = 640, 360


def main(glb: str, fps: float, out: str, frames: list[int]) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    bpy.ops.import_scene.gltf(filepath=glb)
    originals = [obj for obj in scene.objects if obj.name != "floor"]
    hips = []
    for k, frame in enumerate(frames):  # a still copy of the body at each frame
        scene.frame_set(frame)
        hips.append(scene.objects["pelvis"].matrix_world.translation.copy())
        shade = 0.35 + 0.5 * (len(frames) - 1 - k) / max(len(frames) - 1, 1)
        material = bpy.data.materials.new(f"frame {frame}")
        material.diffuse_color = (shade * 0.6, shade * 0.8, 1.0, 1.0)
        for obj in originals:
            copy = bpy.data.objects.new(f"{obj.name} {frame}", obj.data.copy())
            copy.matrix_world = obj.matrix_world.copy()
            copy.data.materials.clear()
            copy.data.materials.append(material)
            scene.collection.objects.link(copy)
    for obj in originals:
        bpy.data.objects.remove(obj)
    centre = sum(hips, Vector()) / len(hips)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    # 50 mm lens: 23 degrees of height at 16:9, so 5 m away frames 2 m, plus room for the path
    camera.location = Vector((centre.x, centre.y - 5.0 - 0.8 * (hips[-1] - hips[0]).length, 1.0))
    camera.rotation_euler = (Vector((centre.x, centre.y, 0.8)) - camera.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = camera
    scene.world = bpy.data.worlds.new("world")
    scene.world.color = (0.8, 0.85, 0.9)
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.display.shading.show_shadows = True
    scene.display.shading.show_cavity = True
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = WIDTH, HEIGHT, 100
    scene.render.image_settings.color_mode = "RGB"
    scene.render.filepath = out
    bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    glb, fps, out, *frames = sys.argv[1:]
    main(glb, float(fps), out, [int(f) for f in frames])
