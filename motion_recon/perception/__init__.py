"""Perception: cameras (projection of world points to pixels) and, later, keypoint detectors."""
