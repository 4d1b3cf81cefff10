"""Report plots of result files (``recon report ... --plots DIR``), PNG via matplotlib's Agg backend.

- ``loss_per_window.png``: each window's loss against function evaluations (log y), one colour per
  result (labelled by its optimizer), with a bold median over the windows.
- ``joint_error.png``: per-frame joint error over time: root-relative MPJPE (solid) and MPJPE-G
  (dashed) in mm against the observed 3D keypoints, and the confidence-weighted 2D reprojection
  error in pixels through the result's camera; one panel per kind of observation present.
- ``contacts.png``: for each result, when each contact body (foot) touches the ground.

The loss x axis: a window records its loss at every iterate (n values) but counts evaluations
(nfev), and the evaluations per iterate are not stored. Iterate i is drawn at evaluation
``1 + i * (nfev - 1) / (n - 1)``, i.e. the first iterate at evaluation 1, the last at nfev and the
ones between evenly spread. This is exact for first-order methods (one evaluation per iterate,
nfev == n) and an even spread for the others (line searches, finite differences).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_recon.metrics import mpjpe_2d_per_frame, mpjpe_g_per_frame, mpjpe_per_frame
from motion_recon.perception.cameras import Camera
from motion_recon.plotting import pyplot
from motion_recon.result_file import MotionResult

DPI = 100


def write_report_plots(results: list[MotionResult], out_dir) -> list[Path]:
    """Writes the report plots of ``results`` (compared in one figure each) to ``out_dir``
    (created if missing); returns the written paths. joint_error.png is left out when no result
    has observations."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    labels = result_labels(results)
    colours = [plt.get_cmap("tab10")(i % 10) for i in range(len(results))]
    figures = {"loss_per_window.png": loss_figure(plt, results, labels, colours),
               "joint_error.png": joint_error_figure(plt, results, labels, colours),
               "contacts.png": contacts_figure(plt, results, labels, colours)}  # fmt: skip
    written = []
    for name, figure in figures.items():
        if figure is not None:
            figure.savefig(out_dir / name, dpi=DPI)
            plt.close(figure)
            written.append(out_dir / name)
    return written


def result_labels(results: list[MotionResult]) -> list[str]:
    """The optimizer of each result; with its name when optimizers repeat, and its position when
    that repeats too."""
    labels = [str(r.optimization.get("optimizer", "?")) for r in results]
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({r.name})" for label, r in zip(labels, results, strict=True)]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def loss_curves(windows: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """(evaluations, losses) of each window: its finite losses placed as the module docstring says."""
    curves = []
    for row, nfev in zip(windows["losses"], windows["nfev"], strict=True):
        losses = row[np.isfinite(row)]
        curves.append((np.linspace(1.0, max(float(nfev), 1.0), len(losses)), losses))
    return curves


def median_curve(curves) -> tuple[np.ndarray, np.ndarray]:
    """Median over windows of the latest loss known after each evaluation count (a finished window
    keeps its final loss)."""
    curves = [(x, y) for x, y in curves if len(y)]
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    latest = [y[np.searchsorted(x, grid, side="right") - 1] for x, y in curves]  # x[0] == 1 == grid[0]
    return grid, np.median(latest, axis=0)


def loss_figure(plt, results, labels, colours):
    """Loss against function evaluations, thin per window, bold median per result."""
    figure, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    for result, label, colour in zip(results, labels, colours, strict=True):
        curves = loss_curves(result.windows)
        for x, y in curves:
            ax.plot(x, y, color=colour, lw=0.6, alpha=0.35)
        if any(len(y) for _, y in curves):
            ax.plot(*median_curve(curves), color=colour, lw=2.5, label=f"{label}: median of {len(curves)} windows")
    ax.set(yscale="log", xlabel="function evaluations", ylabel="window loss", title="loss per window")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return figure


def frame_errors_3d(result: MotionResult) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame root-relative MPJPE and MPJPE-G (mm) of the simulated against the observed 3D
    keypoints; NaN where a frame has no observation."""
    return mpjpe_per_frame(result.simulated, result.observed3d), mpjpe_g_per_frame(result.simulated, result.observed3d)


def frame_errors_2d(result: MotionResult) -> np.ndarray:
    """Per-frame confidence-weighted 2D error (pixels) of the projected simulated keypoints; NaN on
    frames with no confidence."""
    pixels = Camera.from_dict(result.camera).project(np.asarray(result.simulated, float))
    return mpjpe_2d_per_frame(pixels, result.observed2d, result.confidence2d)


def joint_error_figure(plt, results, labels, colours):
    """One panel for the 3D error and one for the 2D error, where any result has those observations."""
    has3d = [r.observed3d is not None for r in results]
    has2d = [r.observed2d is not None and r.camera is not None for r in results]
    panels = [kind for kind, present in (("3d", has3d), ("2d", has2d)) if any(present)]
    if not panels:
        return None
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), sharex=True,
                                squeeze=False, layout="constrained")  # fmt: skip
    for ax, kind in zip(axes[:, 0], panels, strict=True):
        for result, label, colour, ok3d, ok2d in zip(results, labels, colours, has3d, has2d, strict=True):
            seconds = np.arange(len(result.simulated)) / result.fps
            if kind == "3d" and ok3d:
                relative, global_ = frame_errors_3d(result)
                ax.plot(seconds, relative, color=colour, lw=1.5, label=f"{label} MPJPE")
                ax.plot(seconds, global_, color=colour, lw=1.0, ls="--", label=f"{label} MPJPE-G")
            elif kind == "2d" and ok2d:
                ax.plot(seconds, frame_errors_2d(result), color=colour, lw=1.5, label=label)
        ax.set(ylabel="joint error (mm)" if kind == "3d" else "2D error (px)", ylim=(0, None),
               title="3D joint error vs observed" if kind == "3d" else "2D reprojection error (confidence-weighted)")  # fmt: skip
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    axes[-1, 0].set_xlabel("time (s)")
    return figure


def contacts_figure(plt, results, labels, colours):
    """A raster per result: rows are the contact bodies, coloured where they touch the ground."""
    from matplotlib.colors import ListedColormap

    figure, axes = plt.subplots(len(results), 1, figsize=(9, 0.5 + 1.1 * len(results)), sharex=True,
                                squeeze=False, layout="constrained")  # fmt: skip
    for ax, result, label, colour in zip(axes[:, 0], results, labels, colours, strict=True):
        contacts = np.asarray(result.contacts, float).T > 0.5
        bodies = len(result.contact_bodies)
        ax.imshow(contacts, aspect="auto", interpolation="nearest", cmap=ListedColormap(["white", colour]),
                  vmin=0, vmax=1, extent=(0, len(result.contacts) / result.fps, bodies - 0.5, -0.5))  # fmt: skip
        ax.set_yticks(range(bodies), result.contact_bodies)
        ax.set_title(f"{label}: ground contact", fontsize="medium", loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    return figure
