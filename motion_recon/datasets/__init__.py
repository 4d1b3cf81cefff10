"""Motion capture readers. Each returns a ``MotionSequence`` in metres, world z up, in the
file's own joint layout; ``motion_recon.skeleton`` maps layouts into the 17-joint one."""

from pathlib import Path

from .sequence import MotionSequence, detect_unit_scale

__all__ = ["MotionSequence", "detect_unit_scale", "read_motion", "MOTION_SUFFIXES"]

MOTION_SUFFIXES = (".cdf", ".pkl", ".bvh", ".c3d", ".npz")


def read_motion(path, units: str | None = None, *, markers=None) -> MotionSequence:
    """Reads a mocap file by its suffix: Human3.6M ``.cdf`` (at 25 fps), AIST++ ``.pkl``,
    ``.bvh`` or ``.c3d`` (``units``: its length unit, default detected or from the file), or
    ``.npz``. ``markers``: a JSON file naming a C3D file's markers (``datasets.c3d``)."""
    from . import aist, arrays, bvh, c3d, h36m

    path = Path(path)
    readers = {".cdf": h36m.read_positions, ".pkl": aist.read_keypoints3d, ".bvh": bvh.read_bvh,
               ".c3d": c3d.read_c3d, ".npz": arrays.read_npz}  # fmt: skip
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: unknown motion file type {path.suffix!r}; use one of {', '.join(MOTION_SUFFIXES)}")
    if markers is not None and reader is not c3d.read_c3d:
        raise ValueError(f"{path}: a marker mapping can be given for C3D files only")
    if reader is c3d.read_c3d:
        return c3d.read_c3d(path, units=units, markers=markers)
    if units is not None:
        if reader is not bvh.read_bvh:
            raise ValueError(f"{path}: units can be given for BVH and C3D files only")
        return bvh.read_bvh(path, units=units)
    return reader(path)  # each reader names a missing file
