"""Interactive 3D viewer of a result file in the browser (``recon view``), served locally by viser.

The page shows the simulated body (one mesh per capsule of the physics model, sent once and
posed per frame), the observed 3D keypoints with their skeleton, the ground plane, the feet's
floor contacts (red discs) and the loss curve of every optimization window (the current frame's
window highlighted), with a timeline, play/pause, playback speed and a toggle per layer. viser's
web client is bundled in its wheel: the page loads nothing from the network.

The world is the result's: z up, metres, the floor at ``BodyScene.ground``.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from motion_recon.skeleton import PARENTS
from motion_recon.result_file import MotionResult, read_result
from viewer.scene import BodyScene, body_scene

BONES = np.array([(joint, parent) for joint, parent in enumerate(PARENTS) if parent >= 0])
BODY_RGB, BODY_OPACITY = (70, 150, 230), 0.6  # see-through: the observed keypoints lie inside
OBSERVED_RGB = (255, 150, 30)
CONTACT_RGB = (230, 30, 30)
WINDOW_RGB, CURRENT_WINDOW_RGB = "rgba(120, 140, 170, 0.45)", "rgb(230, 30, 30)"


class ResultViewer:
    """Adds the scene and GUI of ``result`` to a viser ``server`` (``scene``: its ``body_scene``, when
    the caller has it); ``show(frame)`` poses every layer, ``play`` runs the timeline."""

    def __init__(self, result: MotionResult, server, scene: BodyScene | None = None):
        import trimesh

        self.result, self.server = result, server
        self.scene = body_scene(result) if scene is None else scene
        self.ground = self.scene.ground
        self.window = -1
        world = server.scene
        world.set_up_direction("+z")
        root = self.scene.position[:, 0]
        centre = np.append(root[:, :2].mean(axis=0), self.ground + 0.8)
        span = np.ptp(root[:, :2], axis=0).max()
        travel = root[-1, :2] - root[0, :2]  # look across the way the body goes
        side = [travel[1], -travel[0]] / np.linalg.norm(travel) if np.linalg.norm(travel) > 0.5 else [0.6, -0.8]
        server.initial_camera.fov = np.radians(45.0)
        server.initial_camera.look_at = centre
        server.initial_camera.position = centre + (2.0 + 0.75 * span) * np.append(side, 0.35)

        self.layers = {name: world.add_frame(f"/{name}", show_axes=False)
                       for name in ("body", "observed keypoints", "ground", "contacts")}  # fmt: skip
        world.add_grid("/ground/grid", span + 6, span + 6, cell_size=0.25, section_size=1.0,
                       position=(*centre[:2], self.ground))  # fmt: skip
        self.capsules = []
        for name, radius, half in zip(self.scene.names, self.scene.radius, self.scene.half_length, strict=True):
            mesh = (trimesh.creation.capsule(height=2 * half, radius=radius, count=[16, 16]) if half > 0
                    else trimesh.creation.icosphere(subdivisions=2, radius=radius))  # fmt: skip
            self.capsules.append(world.add_mesh_simple(f"/body/{name}", mesh.vertices, mesh.faces, color=BODY_RGB,
                                                      opacity=BODY_OPACITY))
        self.points = self.bones = None
        if result.observed3d is not None:
            self.points = world.add_point_cloud("/observed keypoints/points", np.zeros((0, 3)), OBSERVED_RGB,
                                                point_size=0.035, point_shape="circle")  # fmt: skip
            self.bones = world.add_line_segments("/observed keypoints/bones", np.zeros((0, 2, 3)), OBSERVED_RGB,
                                                 thickness=0.012)  # fmt: skip
        self.discs = [world.add_cylinder(f"/contacts/{name}", radius=0.08, height=0.004, color=CONTACT_RGB,
                                         cast_shadow=False, visible=False)
                      for name in self.scene.contact_bodies]  # fmt: skip
        self._add_gui()
        self.show(0)

    def _add_gui(self) -> None:
        """Timeline, playback, layer toggles, info text and loss curves."""
        gui, result = self.server.gui, self.result
        self.info = gui.add_markdown("")
        self.frame = gui.add_slider("Frame", min=0, max=max(self.scene.frames - 1, 1), step=1, initial_value=0)
        self.frame.on_update(lambda _: self.show(self.frame.value))
        self.play_button = gui.add_button("Play")
        self.play_button.on_click(lambda _: self.set_playing(not self.playing))
        self.playing = False
        self.speed = gui.add_slider("Speed", min=0.25, max=2.0, step=0.25, initial_value=1.0)
        with gui.add_folder("Layers"):
            for name, layer in self.layers.items():
                empty = name == "observed keypoints" and self.points is None
                toggle = gui.add_checkbox(name.capitalize(), True, disabled=empty)
                toggle.on_update(lambda event, layer=layer: setattr(layer, "visible", event.target.value))
        metrics = ", ".join(f"{k} {v:.3g}" for k, v in result.metrics.items())
        self.header = (f"**{result.name}**: {self.scene.frames} frames at {self.scene.fps:g} fps, {result.engine}, "
                       f"{result.optimization.get('optimizer', '?')}  \n{metrics}")  # fmt: skip
        losses = np.asarray(result.windows["losses"], float)
        self.plot = None
        if losses.size:  # log10 on a linear axis: uPlot's log axis draws NaN padding as a plunge
            with gui.add_folder("Window losses"):
                self.plot = gui.add_uplot(
                    (np.arange(losses.shape[1], dtype=float), *np.log10(np.where(losses > 0, losses, np.nan))),
                    self._series(-1), scales={"x": {"time": False}}, legend={"show": False}, aspect=1.6,
                    axes=({"label": "iterate"}, {"label": "log10 loss", "size": 50}), padding=(12, 24, 0, 0),
                )  # fmt: skip

    def _series(self, current: int) -> tuple:
        """uPlot series: the iterate axis, then one curve per window, ``current`` highlighted."""
        count = len(self.result.windows["losses"])
        return ({"label": "iterate"}, *({"label": f"window {w + 1}", "width": 2.5 if w == current else 1,
                                         "stroke": CURRENT_WINDOW_RGB if w == current else WINDOW_RGB}
                                        for w in range(count)))  # fmt: skip

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        self.play_button.label = "Pause" if playing else "Play"

    def show(self, frame: int) -> None:
        """Poses the body, keypoints and contacts at ``frame`` and updates the text and plot mark."""
        scene, frame = self.scene, int(np.clip(frame, 0, self.scene.frames - 1))
        windows = self.result.windows
        window = max(int(np.searchsorted(windows["start"], frame, side="right")) - 1, 0)
        with self.server.atomic():
            for handle, position, wxyz in zip(self.capsules, scene.position[frame], scene.rotation[frame], strict=True):
                handle.position, handle.wxyz = position, wxyz
            if self.points is not None:
                points = np.asarray(self.result.observed3d[frame], float)
                seen = np.isfinite(points).all(axis=-1)
                self.points.points = points[seen]
                self.bones.points = points[BONES[seen[BONES].all(axis=1)]]
            for disc, touching, point in zip(self.discs, scene.contact[frame], scene.contact_point[frame], strict=True):
                disc.position = (point[0], point[1], self.ground + 0.002)
                disc.visible = bool(touching)
            text = f"frame {frame} / {scene.frames - 1}, {frame / scene.fps:.2f} s"
            if len(windows["start"]):
                finite = windows["losses"][window][np.isfinite(windows["losses"][window])]
                first, final = (finite[0], finite[-1]) if finite.size else (np.nan, np.nan)
                text += (f"; window {window + 1} / {len(windows['start'])} (frames {windows['start'][window]}-"
                         f"{windows['stop'][window] - 1}): loss {first:.3g} -> {final:.3g}, "
                         f"{windows['status'][window]}")  # fmt: skip
            self.info.content = f"{self.header}  \n{text}"
            if self.plot is not None and window != self.window:
                self.plot.series, self.window = self._series(window), window

    def play(self, stop: threading.Event, duration: float | None = None) -> None:
        """Advances the timeline at the result's frame rate times the speed while playing (looping),
        until ``stop`` is set or ``duration`` seconds have passed."""
        end = None if duration is None else time.monotonic() + duration
        position, last = float(self.frame.value), time.monotonic()
        while not stop.wait(0.5 / self.scene.fps) and (end is None or time.monotonic() < end):
            now = time.monotonic()
            elapsed, last = now - last, now
            if not self.playing:
                continue
            if int(position) != self.frame.value:  # moved by hand
                position = float(self.frame.value)
            position = (position + elapsed * self.scene.fps * self.speed.value) % self.scene.frames
            self.frame.value = int(position)


def serve(path, host: str = "127.0.0.1", port: int = 8080, *, duration: float | None = None,
          stop: threading.Event | None = None) -> None:  # fmt: skip
    """Serves the viewer of the result file ``path`` at http://host:port (the next free port if that
    one is taken) and plays it until Ctrl-C, ``stop`` is set or ``duration`` seconds have passed.
    One-line errors name a missing or foreign file, or a missing viser."""
    if not 0 <= port < 65536:
        raise ValueError(f"port {port} is not between 0 and 65535")
    result = read_result(path)
    scene = body_scene(result)
    try:
        import viser
    except ImportError as err:
        raise ImportError(f'the viewer needs viser: pip install "motion-recon[viewer]" ({err})') from err
    server = viser.ViserServer(host=host, port=port, verbose=False)
    try:
        viewer = ResultViewer(result, server, scene)
        address = "localhost" if host in ("0.0.0.0", "::") else host
        print(f"viewing {result.name} at http://{address}:{server.get_port()} (Ctrl-C stops)", flush=True)
        viewer.play(threading.Event() if stop is None else stop, duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
