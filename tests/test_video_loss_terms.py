"""The video loss's ground-contact term and the frames it applies to, and its 2D term's image-shift
weight, against hand-computed values."""

from types import SimpleNamespace

import numpy as np
import pytest

from motion_recon import skeleton
from motion_recon.configs import LossConfig
from motion_recon.diffphy.loss import GroundContact, WindowData, window_loss
from pipelines.mocap import GROUNDED_SPEED_M_S, GROUNDED_WITHIN_M, grounded_feet


def test_an_ankle_is_on_the_ground_while_observed_near_a_standing_ankles_height():
    ground, ankle = 0.5, 0.08
    keypoints = np.full((4, 17, 3), 1.0)
    # right ankle above a standing one by: 0, just within, just beyond the limit, and unseen
    keypoints[:, skeleton.ANKLES[0], 2] = ground + ankle + np.array([0.0, GROUNDED_WITHIN_M - 1e-3,
                                                                     GROUNDED_WITHIN_M + 1e-3, np.nan])  # fmt: skip
    keypoints[:, skeleton.ANKLES[1], 2] = ground + ankle + np.array([0.3, -0.02, 0.0, 0.0])
    assert grounded_feet(keypoints, ground, ankle, fps=25.0).tolist() == [[1, 0], [1, 1], [0, 1], [0, 1]]


def test_an_ankle_that_moves_sideways_fast_is_not_on_the_ground_however_low():
    fps, ground, ankle = 25.0, 0.0, 0.08
    keypoints = np.zeros((5, 17, 3))
    keypoints[:, :, 2] = ground + ankle
    # right ankle: still, then one frame at 0.9x the speed limit, then at 1.1x (central differences)
    step = GROUNDED_SPEED_M_S / fps
    keypoints[:, skeleton.ANKLES[0], 0] = np.cumsum([0.0, 0.0, 0.9 * 2 * step, 0.0, 1.1 * 2 * step])
    assert grounded_feet(keypoints, ground, ankle, fps).tolist() == [[1, 1], [1, 1], [1, 1], [0, 1], [0, 1]]


class _FixedMotion:
    """A stand-in simulator whose rollout is a given keypoint motion, whatever the controls."""

    def __init__(self, keypoints):
        self.keypoints = keypoints

    def rollout(self, body, qpos0, qvel0, targets, residual):
        return SimpleNamespace(keypoints=self.keypoints, qpos=None, qvel=None)


def test_the_ground_contact_term_holds_each_grounded_ankle_at_standing_height_and_in_place():
    frames, ankle = 4, 0.08
    keypoints = np.zeros((frames + 1, 17, 3), np.float32)
    right, left = skeleton.ANKLES
    keypoints[:, right] = [[0.0, 0.0, 0.08], [0.03, 0.0, 0.08], [0.03, 0.0, 0.13], [0.03, 0.04, 0.03], [0.5, 0.0, 0.3]]
    keypoints[:, left] = [0.0, 0.2, 0.08]
    keypoints[2, left, 2] = 0.10
    weight = np.array([[1, 1], [1, 1], [1, 0], [1, 1], [0, 1]], np.float32)  # frame 0 is the start: not scored
    reference = np.tile(np.array([1.0, 0.0, 0.0, 0.0], np.float32), (frames + 1, 16, 1))
    data = WindowData(None, None, None, reference, keypoints, np.zeros((frames + 1, 17), np.float32),
                      ground=GroundContact(weight, np.float32(ankle)))  # fmt: skip
    u = np.zeros((frames + 1) * 16 * 3, np.float32)
    # 6 grounded ankle-frames; the right ankle 5 cm up in frame 2 (the left's 2 cm there is not
    # grounded), below standing height in 3 (no lift), and it slides 3 cm into frame 1 and 4 cm
    # into 3, both grounded before and after; the left never moves sideways
    held = 2.0 * 0.05**2 + 3.0 * (0.03**2 + 0.04**2)
    config = LossConfig(keypoint_weight=0.0, smoothness_weight=0.0, ground_contact_weight=2.0, ground_slide_weight=3.0)
    assert float(window_loss(_FixedMotion(keypoints), config, u, data)) == pytest.approx(held / 6, rel=1e-5)
    without = LossConfig(keypoint_weight=0.0, smoothness_weight=0.0)
    assert float(window_loss(_FixedMotion(keypoints), without, u, data)) == 0.0


def test_the_image_shift_weight_discounts_only_the_frames_mean_2d_error():
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[..., 2] = 1.0  # every joint 1 m in front of the camera, on its axis: pixel (0, 0)
    observed2d = np.zeros((2, 17, 2), np.float32)
    observed2d[:, 0, 0], observed2d[:, 1, 0] = 2.0, 4.0  # errors of 2 and 4 px: mean shift 3 px, 1 px about it
    weights2d = np.zeros((2, 17), np.float32)
    weights2d[:, :2] = 1.0
    camera = (np.diag([100.0, 100.0, 1.0]).astype(np.float32), np.zeros(5, np.float32), np.eye(3, dtype=np.float32),
              np.zeros(3, np.float32))  # fmt: skip
    reference = np.tile(np.array([1.0, 0.0, 0.0, 0.0], np.float32), (2, 16, 1))
    data = WindowData(None, None, None, reference, keypoints, np.zeros((2, 17), np.float32), keypoints2d=observed2d,
                      weights2d=weights2d, camera=camera)  # fmt: skip
    u = np.zeros(2 * 16 * 3, np.float32)

    def loss(shift_weight):
        config = LossConfig(keypoint_weight=0.0, smoothness_weight=0.0, keypoint2d_weight=1.0, image_shift_weight=shift_weight)
        return float(window_loss(_FixedMotion(keypoints), config, u, data))

    assert loss(1.0) == pytest.approx((2.0**2 + 4.0**2) / 2, rel=1e-6)
    assert loss(0.25) == pytest.approx(1.0 + 0.25 * 3.0**2, rel=1e-6)
    assert loss(0.0) == pytest.approx(1.0, rel=1e-6)
