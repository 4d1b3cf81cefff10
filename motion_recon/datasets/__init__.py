"""Motion capture readers. Each returns a ``MotionSequence`` in metres, world z up, in the
file's own joint layout; ``body_models.skeleton`` maps layouts into the 17-joint one."""

from .sequence import MotionSequence, detect_unit_scale

__all__ = ["MotionSequence", "detect_unit_scale"]
