"""Robust observations: the One-Euro filter and the robust 2D error, against values computed by
hand, and left-right swap correction on a projected mocap walk."""

import numpy as np
import pytest

from motion_recon.diffphy.loss import robust_square
from motion_recon import skeleton
from motion_recon.datasets import read_motion
from motion_recon.paths import data_dir
from motion_recon.perception.cameras import Camera
from motion_recon.perception.filtering import OneEuro, smoothing_factor
from motion_recon.perception.left_right import LIMBS, unswap

ALPHA_1HZ_10FPS = 1.0 / (1.0 + 10.0 / (2.0 * np.pi))  # 0.385869...


def test_smoothing_factor_is_one_over_one_plus_tau_over_te():
    assert smoothing_factor(1.0, 10.0) == pytest.approx(ALPHA_1HZ_10FPS)
    assert ALPHA_1HZ_10FPS == pytest.approx(0.38586955, abs=1e-8)


def test_without_beta_it_is_a_first_order_low_pass():
    out = OneEuro(min_cutoff=1.0, beta=0.0)(np.array([0.0, 1.0, 1.0]), fps=10.0)
    a = ALPHA_1HZ_10FPS
    np.testing.assert_allclose(out, [0.0, a, a + (1 - a) * a], rtol=1e-12)


def test_the_cutoff_rises_with_the_smoothed_speed():
    out = OneEuro(min_cutoff=1.0, beta=1.0, d_cutoff=1.0)(np.array([0.0, 1.0]), fps=10.0)
    speed = ALPHA_1HZ_10FPS * 10.0  # (1 - 0) * fps, smoothed from 0
    alpha = 1.0 / (1.0 + 10.0 / (2.0 * np.pi * (1.0 + speed)))
    assert out[1] == pytest.approx(alpha, rel=1e-12) and alpha == pytest.approx(0.753258, abs=1e-6)


def test_signals_are_independent_constant_ones_pass_and_a_gap_restarts():
    signal = np.stack([np.full(4, 7.0), [0.0, np.nan, 5.0, 5.0]], axis=1)
    out = OneEuro(min_cutoff=1.0, beta=0.5)(signal, fps=10.0)
    np.testing.assert_allclose(out[:, 0], 7.0)
    assert out[0, 1] == 0.0 and np.isnan(out[1, 1]) and out[2, 1] == 5.0 and out[3, 1] == 5.0
    with pytest.raises(ValueError, match="positive"):
        OneEuro(min_cutoff=0.0)


def test_jitter_about_a_still_pose_is_reduced():
    rng = np.random.default_rng(0)
    noisy = 100.0 + rng.normal(scale=5.0, size=(300, 17, 2))
    out = OneEuro(min_cutoff=1.0, beta=0.0)(noisy, fps=30.0)
    assert np.std(out[30:] - 100.0) < 0.5 * np.std(noisy[30:] - 100.0)


def test_geman_mcclure_is_the_square_below_its_scale_and_bounded_above():
    assert float(robust_square(9.0, 0.0)) == 9.0  # scale 0: plain squared error
    assert float(robust_square(9.0, 3.0)) == pytest.approx(4.5)  # e = c: half of e^2
    assert float(robust_square(0.01, 100.0)) == pytest.approx(0.01, rel=1e-5)
    assert float(robust_square(1e8, 10.0)) == pytest.approx(100.0, rel=1e-5)  # at most c^2


def test_the_2d_term_weights_robust_errors_by_confidence():
    """3 keypoints 3, 4 and 300 px off with confidences 1, 0.5, 1: Geman-McClure at c = 5 px."""
    from motion_recon.diffphy.loss import _weighted_mean_square

    predicted = np.zeros((1, 3, 2), np.float32)
    observed = np.array([[[3.0, 0.0], [0.0, 4.0], [300.0, 0.0]]], np.float32)
    weights = np.array([[1.0, 0.5, 1.0]], np.float32)
    gm = [25 * e2 / (25 + e2) for e2 in (9.0, 16.0, 90000.0)]
    expected = (gm[0] + 0.5 * gm[1] + gm[2]) / 2.5
    assert float(_weighted_mean_square(predicted, observed, weights, 5.0)) == pytest.approx(expected, rel=1e-6)
    assert float(_weighted_mean_square(predicted, observed, weights)) == pytest.approx((9 + 8 + 90000) / 2.5, rel=1e-6)


def _walk_seen_from_the_side():
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    world = np.asarray(walk.keypoints, float)
    centre = world[:, 0].mean(axis=0)
    eye = centre + np.array([0.0, -5.0, 0.0]) if np.ptp(world[:, 0, 0]) > np.ptp(world[:, 0, 1]) else centre + [5.0, 0, 0]
    forward = (centre - eye) / np.linalg.norm(centre - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    R = np.stack([right, np.cross(forward, right), forward])
    camera = Camera("side", 1280, 720, [[1000.0, 0, 639.5], [0, 1000.0, 359.5], [0, 0, 1]], np.zeros(5), R, -R @ eye)
    pixels = camera.project(world)
    return pixels, camera.world_to_camera(world)


def _swap(array, t, names):
    left, right = [[skeleton.INDEX[j] for j in side] for side in names]
    array[t, left + right] = array[t, right + left]


def test_left_right_swaps_are_undone_and_a_clean_track_is_left_alone():
    """A side view of a walk (the legs cross twice per stride): no frame of the clean track is
    changed; legs swapped in frames 10-12 and arms in frame 20 (one arm joint unseen) are
    restored exactly, in the pixels, confidences and 3D poses alike."""
    pixels, poses = _walk_seen_from_the_side()
    confidence = np.tile(np.linspace(0.5, 1.0, 17), (len(pixels), 1))
    clean = unswap(pixels, confidence, poses)
    assert not clean[3].any()
    np.testing.assert_array_equal(clean[0], pixels)
    spoiled = [a.copy() for a in (pixels, confidence, poses)]
    for array in spoiled:
        for t in (10, 11, 12):
            _swap(array, t, LIMBS["legs"])
        _swap(array, 20, LIMBS["arms"])
    spoiled[0][20, skeleton.INDEX["left_elbow"]] = np.nan
    fixed, fixed_confidence, fixed_poses, swapped = unswap(*spoiled)
    assert np.flatnonzero(swapped[:, 0]).tolist() == [10, 11, 12] and np.flatnonzero(swapped[:, 1]).tolist() == [20]
    expected = pixels.copy()
    expected[20, skeleton.INDEX["right_elbow"]] = np.nan  # the unseen joint moved with its label
    np.testing.assert_array_equal(fixed, expected)
    np.testing.assert_array_equal(fixed_confidence, confidence)
    np.testing.assert_array_equal(fixed_poses, poses)


def test_a_track_is_smoothed_in_body_size_units():
    """The same still pose with the same relative jitter, seen 200 px or 800 px tall, is smoothed
    alike: the filter works in units of the body's image height (and of 1.7 m in 3D)."""
    from motion_recon.perception.filtering import smooth_track
    from motion_recon.perception.people import PersonTrack

    pixels, poses = _walk_seen_from_the_side()
    pose = pixels[0] - pixels[0].mean(axis=0)
    jitter = np.random.default_rng(0).normal(0.0, 0.01, (60, 17, 2))
    ratios = []
    for size in (200.0, 800.0):
        scale = size / np.ptp(pose[:, 1])
        keypoints = 500.0 + scale * pose + size * jitter
        track = PersonTrack(keypoints, np.ones((60, 17)), np.tile(poses[0], (60, 1, 1)) + 0.017 * jitter[..., [0, 1, 1]],
                            25.0, 1000, 1000)  # fmt: skip
        smoothed = smooth_track(track)
        ratios.append(np.std(smoothed.keypoints[10:] - (500.0 + scale * pose)) / np.std(size * jitter[10:]))
        assert np.std(smoothed.world[10:] - poses[0]) < 0.5 * np.std(0.017 * jitter[10:])
    assert ratios[0] == pytest.approx(ratios[1], rel=1e-9) and ratios[0] < 0.5
