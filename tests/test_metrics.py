import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_recon import metrics


def test_mpjpe_variants_on_hand_computed_cases():
    gt = np.zeros((2, 3, 3))
    gt[:, 1, 0] = 1.0
    gt[:, 2, 1] = 1.0
    shifted = gt + [0.1, 0.0, 0.0]  # 10 cm global offset
    assert metrics.mpjpe_g(shifted, gt) == pytest.approx(100.0)
    assert metrics.mpjpe(shifted, gt) == pytest.approx(0.0)
    one_off = gt.copy()
    one_off[:, 2, 2] += 0.03  # a single joint 3 cm off: 1 cm mean over 3 joints
    assert metrics.mpjpe_g(one_off, gt) == pytest.approx(10.0)
    assert metrics.mpjpe(one_off, gt) == pytest.approx(10.0)  # the root did not move


def test_procrustes_removes_similarity_but_not_reflection():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 17, 3))
    rotation = Rotation.random(4, random_state=1).as_matrix()
    moved = 1.3 * np.einsum("tij,tkj->tki", rotation, gt) + rng.normal(size=(4, 1, 3))
    assert metrics.mpjpe_pa(moved, gt) == pytest.approx(0.0, abs=1e-6)
    assert metrics.mpjpe(moved, gt) > 100
    mirrored = gt * [-1.0, 1.0, 1.0]
    assert metrics.mpjpe_pa(mirrored, gt) > 100  # a reflection is not a rotation
    with pytest.raises(ValueError, match=r"\(T, J, 3\)"):
        metrics.mpjpe_pa(gt[..., :2], gt[..., :2])


def test_procrustes_aligns_each_frame_on_its_own_observed_joints():
    """Frame 0 has two joints missing (the similarity is fitted on the rest, the missing stay
    NaN), frame 1 only two joints (too few for PA: NaN), frame 2 is a mirror image, whose best
    proper similarity is checked against scipy's ``Rotation.align_vectors``."""
    rng = np.random.default_rng(4)
    gt = rng.normal(size=(3, 6, 3))
    rotation = Rotation.random(3, random_state=5).as_matrix()
    pred = 0.7 * np.einsum("tij,tkj->tki", rotation, gt) + [0.2, -0.1, 0.5]
    pred[0, [1, 4]] = np.nan
    gt[1, 2:] = np.nan
    pred[2] = gt[2] * [-1.0, 1.0, 1.0]
    aligned = metrics.procrustes_align(pred, gt)
    observed = np.isfinite(pred[0]).all(-1)
    np.testing.assert_allclose(aligned[0, observed], gt[0, observed], atol=1e-12)
    assert np.isnan(aligned[0, ~observed]).all() and np.isnan(aligned[1]).all()
    p0, g0 = pred[2] - pred[2].mean(0), gt[2] - gt[2].mean(0)
    best, _ = Rotation.align_vectors(g0, p0)
    turned = best.apply(p0)
    np.testing.assert_allclose(aligned[2], np.sum(g0 * turned) / np.sum(p0**2) * turned + gt[2].mean(0), atol=1e-9)
    pa = metrics.mpjpe_pa_per_frame(pred, gt)
    assert pa[0] == pytest.approx(0.0, abs=1e-9) and np.isnan(pa[1]) and pa[2] > 100
    assert np.isfinite(metrics.mpjpe_g_per_frame(pred, gt)).all()  # MPJPE-G needs one joint per frame


def test_per_frame_errors_average_to_the_scalar_when_every_joint_is_seen():
    rng = np.random.default_rng(6)
    gt, pred = rng.normal(size=(2, 5, 17, 3))
    for scalar, per_frame in ((metrics.mpjpe_g, metrics.mpjpe_g_per_frame), (metrics.mpjpe, metrics.mpjpe_per_frame),
                              (metrics.mpjpe_pa, metrics.mpjpe_pa_per_frame)):  # fmt: skip
        values = per_frame(pred, gt)
        assert values.shape == (5,) and np.mean(values) == pytest.approx(scalar(pred, gt), rel=1e-12)
    confidence = rng.uniform(0.1, 1.0, size=(5, 17))
    frames = metrics.mpjpe_2d_per_frame(pred[..., :2], gt[..., :2], confidence)
    error = np.linalg.norm(pred[..., :2] - gt[..., :2], axis=-1)
    np.testing.assert_allclose(frames, (error * confidence).sum(1) / confidence.sum(1), rtol=1e-12)


def test_mpjpe_2d_weights_by_confidence_and_skips_missing():
    observed = np.zeros((1, 3, 2))
    pred = np.array([[[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]]])
    assert metrics.mpjpe_2d(pred, observed) == pytest.approx(2.0)
    assert metrics.mpjpe_2d(pred, observed, np.array([[1.0, 0.0, 1.0]])) == pytest.approx(2.5)
    observed[0, 0] = np.nan
    assert metrics.mpjpe_2d(pred, observed) == pytest.approx(0.5)


def test_total_variation_of_constant_acceleration_is_zero_and_of_a_kink_is_known():
    t = np.arange(10.0)
    falling = np.zeros((10, 1, 3))
    falling[:, 0, 2] = -0.5 * 0.01 * t**2  # constant acceleration: no change of acceleration
    assert metrics.total_variation(falling) == pytest.approx(0.0, abs=1e-12)
    kink = np.zeros((10, 1, 3))
    kink[5:, 0, 0] = 0.1 * (t[5:] - 4)  # starts moving at 0.1 m/frame after frame 4
    # acceleration is 0.1 at one frame and zero elsewhere: |change| = 0.1 twice, over T = 10
    assert metrics.total_variation(kink) == pytest.approx(0.2 / 10)


def test_foot_skate_counts_sliding_while_the_reference_stands():
    frames = 11
    gt = np.zeros((frames, 17, 3))
    gt[:, :, 2] = 1.0
    gt[:, [3, 6], 2] = 0.0  # both feet planted throughout
    sliding = gt.copy()
    sliding[:, 3, 0] = 0.05 * np.arange(frames)  # right foot slides 5 cm per frame
    assert metrics.foot_skate(gt, gt) == 0.0
    assert metrics.foot_skate(sliding, gt) == pytest.approx(100.0)
    half = gt.copy()
    half[5:, 3, 0] = 0.05 * np.arange(frames - 5)  # slides only in the last 5 of 10 transitions
    assert metrics.foot_skate(half, gt) == pytest.approx(50.0)
    lifted = gt.copy()
    lifted[:, 3, 2] = 0.3  # swinging foot high above the ground: in no contact, cannot skate
    lifted[:, 3, 0] = 0.05 * np.arange(frames)
    assert metrics.foot_skate(lifted, lifted) == 0.0 and metrics.foot_skate(sliding) == pytest.approx(100.0)


def test_all_metrics_picks_the_available_columns():
    rng = np.random.default_rng(2)
    gt = rng.normal(size=(6, 17, 3))
    result = metrics.all_metrics(gt + 0.01, gt)
    assert set(result) == {"mpjpe_g", "mpjpe", "mpjpe_pa", "tv", "foot_skate"}
    assert result["mpjpe_g"] == pytest.approx(1000 * np.sqrt(3) * 0.01)
    two_d = metrics.all_metrics(gt, pred_2d=gt[..., :2], observed_2d=gt[..., :2] + 1.0)
    assert two_d["mpjpe_2d"] == pytest.approx(np.sqrt(2)) and "mpjpe" not in two_d


def test_feet_planted_in_the_image_are_foot_skate_contacts():
    # ankle 3 stands still for frames 0-2 then moves 10 px per frame; ankle 6 always moves 1 px
    # per frame but is unseen in frame 3; at 5 m depth and f = 1000 px, 2 cm is 4 px
    pixels = np.zeros((6, 17, 2))
    pixels[3:, 3, 0] = 10.0 * np.arange(3)
    pixels[:, 6, 0] = np.arange(6.0)
    confidence = np.ones((6, 17))
    confidence[3, 6] = 0.2
    contact = metrics.planted_in_image(pixels, confidence, np.full((6, 2), 5.0), 1000.0)
    np.testing.assert_array_equal(contact[:, 0], [True, True, True, False, False])
    np.testing.assert_array_equal(contact[:, 1], [True, True, False, False, True])
    motion = np.zeros((6, 17, 3))
    motion[:, 3, 0] = 0.05 * np.arange(6)  # slides 5 cm per frame
    assert metrics.foot_skate(motion, contact=contact) == pytest.approx(60.0)  # transitions 0-2 of 5
    assert metrics.all_metrics(motion, contact=contact)["foot_skate"] == pytest.approx(60.0)


def test_running_medians_keep_a_jittered_planted_foot_planted():
    # ankle 3 stands still but the detector throws it 20 px off in frame 2 (and loses it in frame 4);
    # ankle 6 walks 10 px per frame. At 5 m and f = 1000 px, 2 cm is 4 px.
    pixels = np.zeros((7, 17, 2))
    pixels[2, 3, 0] = 20.0
    pixels[:, 6, 0] = 10.0 * np.arange(7)
    confidence = np.ones((7, 17))
    confidence[4, 3] = 0.0
    depth = np.full((7, 2), 5.0)
    raw = metrics.planted_in_image(pixels, confidence, depth, 1000.0)
    np.testing.assert_array_equal(raw[:, 0], [True, False, False, False, False, True])
    filtered = metrics.planted_in_image(pixels, confidence, depth, 1000.0, median_frames=5)
    np.testing.assert_array_equal(filtered[:, 0], [True, True, True, False, False, True])  # unseen frame 4 stays out
    np.testing.assert_array_equal(filtered[:, 1], [False] * 6)
