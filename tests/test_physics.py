"""Physics backends. Compiled windows are kept short; each distinct rollout shape compiles once."""

import dataclasses

import jax
import mujoco
import jax.numpy as jnp
import numpy as np
import pytest

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from motion_recon import physics
from motion_recon.datasets.synthetic import march_in_place
from motion_recon.physics import rotations
from motion_recon.physics.mjx_backend import MjxSimulator
from motion_recon.physics.model import SimConfig, State
from motion_recon.physics.tds_backend import SimulationDiverged

try:
    import pytinydiffsim
except ImportError:  # CPython 3.11 wheels only (the dependency's marker); CI installs it
    pytinydiffsim = None
needs_tds = pytest.mark.skipif(pytinydiffsim is None, reason="pytinydiffsim is not installed (CPython 3.11 only)")

# In flight (no contact), 0.2 s: pytinydiffsim and C MuJoCo, both float64, integrate alike
# (measured 2e-15 m); MJX runs in float32, whose rounding leaves 1.1e-6 m (1.3e-8 m in float64).
IN_FLIGHT_TDS_MUJOCO_M = 1e-12
IN_FLIGHT_TDS_MJX_M = 2e-6
# MJX (float32, 4 solver iterations) against C MuJoCo converged on a 1 s march in place with
# 5 foot-contact changes: measured 0.27 mm at most, the README's 0.3 mm.
MARCH_MJX_MUJOCO_M = 0.3e-3
# Central differences of step 1e-6 in float64: truncation and rounding leave ~2e-8 relative.
GRADIENT_REL = 1e-7


def test_rotations_round_trip_and_slerp():
    rng = np.random.default_rng(0)
    r = jnp.asarray(rng.uniform(-1.5, 1.5, (8, 3)))
    q = rotations.from_rotvec(r)
    np.testing.assert_allclose(rotations.to_rotvec(q), r, atol=1e-5)
    np.testing.assert_allclose(rotations.rotate(rotations.mul(q, rotations.conj(q)), r), r, atol=1e-5)
    a, b = q[:4], q[4:]
    np.testing.assert_allclose(rotations.slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(jnp.abs(jnp.sum(rotations.slerp(a, b, 1.0) * b, -1)), 1.0, atol=1e-6)
    half = rotations.slerp(a, b, 0.5)  # halfway: equal angles to both ends
    np.testing.assert_allclose(
        jnp.linalg.norm(rotations.to_rotvec(rotations.mul(rotations.conj(a), half)), axis=-1),
        jnp.linalg.norm(rotations.to_rotvec(rotations.mul(rotations.conj(half), b)), axis=-1),
        atol=1e-5,
    )
    grad = jax.grad(lambda v: jnp.sum(rotations.to_rotvec(rotations.from_rotvec(v))))(jnp.zeros(3))
    np.testing.assert_allclose(grad, np.ones(3), atol=1e-6)  # finite and exact at the identity


def test_pd_holds_a_standing_pose_for_two_seconds(model):
    sim = physics.simulator(model)
    state = sim.default_state()
    trajectory = physics.rollout(model, state, sim.rest_controls(50))
    pelvis = np.asarray(trajectory.keypoints[:, 0, 2])
    assert np.all(np.isfinite(np.asarray(trajectory.qpos)))
    assert np.abs(pelvis - pelvis[0]).max() < 0.05
    assert np.all(np.asarray(trajectory.contacts)[1:] == 1.0)  # both feet on the floor throughout


def test_without_pd_the_body_falls_onto_the_floor(humanoid):
    model = physics_model(humanoid, floor_contact="all")
    limp = dataclasses.replace(model, stiffness=(0.0,) * model.num_joints)
    sim = physics.simulator(limp)
    state = sim.default_state()
    qvel = np.array(state.qvel)
    qvel[4] = 0.3  # a slight forward sway
    trajectory = physics.rollout(limp, State(state.qpos, qvel), sim.rest_controls(50))
    pelvis = np.asarray(trajectory.keypoints[:, 0, 2])
    assert np.all(np.isfinite(pelvis)) and pelvis[-1] < 0.6 * pelvis[0]
    assert np.asarray(trajectory.keypoints)[:, :, 2].min() > -0.03  # lands on the floor, not through it


@pytest.mark.parametrize("height", [1.5, 2.0])
def test_other_body_sizes_stand_stably(height):
    model = physics_model(build_humanoid(shape_from_height(height)))
    sim = physics.simulator(model, engine="mujoco")
    trajectory = sim.rollout(*sim.default_state(), sim.rest_controls(50))
    pelvis = trajectory.keypoints[:, 0, 2]
    assert np.all(np.isfinite(trajectory.qpos)) and np.abs(pelvis - pelvis[0]).max() < 0.05


@needs_tds
def test_pytinydiffsim_agrees_with_mujoco_and_mjx_in_flight_and_vmaps(model):
    """Two airborne starts, batched with vmap in MJX and one by one in pytinydiffsim and C MuJoCo."""
    mjx_sim, tds_sim = physics.simulator(model), physics.simulator(model, engine="tds")
    mujoco_sim = physics.simulator(model, engine="mujoco")
    rng = np.random.default_rng(1)
    rest = mjx_sim.default_state()
    starts, controls = [], []
    for height in (2.0, 3.0):
        qpos = np.array(rest.qpos, dtype=float)
        qpos[2] = height
        starts.append((qpos, rng.normal(scale=0.5, size=rest.qvel.shape)))
        keys = mjx_sim.rest_controls(5) + rng.normal(scale=0.3, size=(6, model.num_joints, 4))
        controls.append(keys / np.linalg.norm(keys, axis=-1, keepdims=True))
    batched = jax.jit(jax.vmap(mjx_sim.rollout))(
        np.stack([s[0] for s in starts]), np.stack([s[1] for s in starts]), np.stack(controls)
    )
    for k, ((qpos, qvel), keys) in enumerate(zip(starts, controls, strict=True)):
        reference = tds_sim.rollout(qpos, qvel, keys)
        moved = np.linalg.norm(reference.keypoints[-1] - reference.keypoints[0], axis=-1).max()
        assert moved > 0.3 and np.all(reference.contacts == 0)
        error_mujoco = np.linalg.norm(mujoco_sim.rollout(qpos, qvel, keys).keypoints - reference.keypoints, axis=-1)
        error_mjx = np.linalg.norm(np.asarray(batched.keypoints[k]) - reference.keypoints, axis=-1)
        assert error_mujoco.max() < IN_FLIGHT_TDS_MUJOCO_M and error_mjx.max() < IN_FLIGHT_TDS_MJX_M


@needs_tds
def test_tds_reports_divergence(model):
    sim = physics.simulator(model, engine="tds")
    qpos, qvel = sim.default_state()
    bad = np.array(qvel, dtype=float)
    bad[7] = np.nan
    with pytest.raises(SimulationDiverged, match="frame 1"):
        sim.rollout(qpos, bad, sim.rest_controls(1))


def test_controls_of_the_wrong_shape_are_rejected(model):
    sim = physics.simulator(model)
    with pytest.raises(ValueError, match=r"controls must have shape \(F\+1, 13, 4\)"):
        sim.rollout(*sim.default_state(), np.zeros((3, 12, 4)))
    with pytest.raises(ValueError, match="unknown engine"):
        physics.simulator(model, engine="bullet")


def test_gradient_matches_central_differences_with_and_across_contacts(model):
    """float64, 0.04 s: standing on both feet (contacts throughout), and landing from 1 cm at
    0.5 m/s (no contact in the first frame, both feet in contact after it); six random
    directions each (measured relative error at most 1.9e-8)."""
    with jax.enable_x64(True):
        sim = MjxSimulator(model, SimConfig(fps=50.0))
        state = sim.default_state()
        rng = np.random.default_rng(2)
        qpos = np.asarray(state.qpos, float)
        qvel = np.array(state.qvel, dtype=float)
        qvel[6:] = rng.normal(scale=0.1, size=qvel.size - 6)  # not at exact rest (MJX zero-norm trap)
        keys = sim.rest_controls(2) + rng.normal(scale=0.05, size=(3, model.num_joints, 4))
        weights = rng.normal(size=(3, 17, 3))
        landing_qpos, landing_qvel = qpos.copy(), qvel.copy()
        landing_qpos[2] += 0.01
        landing_qvel[2] = -0.5
        cases = {  # name: start, contacts per frame
            "standing": (qpos, qvel, [[1.0, 1.0]] * 3),
            "landing": (landing_qpos, landing_qvel, [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]),
        }

        def loss(controls, qpos, qvel):
            trajectory = sim.rollout(qpos, qvel, controls)
            return jnp.sum(trajectory.keypoints * weights), trajectory.contacts

        # one program for the gradient and the finite differences' values (a second, value-only
        # program would cost ~16 s of compilation)
        value_and_gradient = jax.jit(jax.value_and_grad(loss, has_aux=True))

        def gradient(*args):
            (_, contacts), grad = value_and_gradient(*args)
            return grad, contacts

        def value(*args):
            return value_and_gradient(*args)[0][0]

        eps = 1e-6
        for name, (qpos, qvel, contacts) in cases.items():
            grad, observed = gradient(keys, qpos, qvel)
            np.testing.assert_array_equal(np.asarray(observed), contacts, err_msg=name)
            grad = np.asarray(grad)
            for direction in rng.normal(size=(6, *keys.shape)):
                ahead, behind = value(keys + eps * direction, qpos, qvel), value(keys - eps * direction, qpos, qvel)
                central = (ahead - behind) / (2 * eps)
                assert float(central) == pytest.approx(float(np.sum(grad * direction)), rel=GRADIENT_REL), name


def test_mjx_agrees_with_converged_mujoco_on_a_march_in_place(model):
    """The default MJX rollout (float32, 4 solver iterations) against C MuJoCo with its solver
    converged, over 1 s of marching in place: every foot-contact change happens in the window."""
    reference_sim = physics.simulator(model, engine="mujoco")
    start = reference_sim.default_state()
    controls = march_in_place(reference_sim)
    reference = reference_sim.rollout(*start, controls)
    assert int(np.abs(np.diff(reference.contacts, axis=0)).sum()) == 5
    trajectory = physics.rollout(model, start, controls)
    error = np.linalg.norm(np.asarray(trajectory.keypoints) - reference.keypoints, axis=-1)
    assert error.max() < MARCH_MJX_MUJOCO_M


def test_compilation_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MOTION_RECON_CACHE", str(tmp_path / "jax"))
    assert physics.cache_dir() == tmp_path / "jax"
    monkeypatch.delenv("MOTION_RECON_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert physics.cache_dir() == tmp_path / "motion-recon" / "jax"


# a CMU-like trunk (shape.TRUNK order, m): hips 11 cm below the root, shoulders 8 cm above the thorax
CMU_LIKE_TRUNK = ((0.05, 0.093, -0.11), (0.05, 0.0, 0.15), (-0.04, 0.198, 0.079), (-0.04, 0.0, 0.243))


def test_bodies_of_one_structure_and_motions_of_any_length_share_one_compiled_rollout():
    """Three people of different size and trunk geometry, and motions of 1, 10 and 23 frames: one
    start program and one chunk program, compiled once, and each body simulated as itself (its
    keypoints at the start are C MuJoCo's sites of its own model)."""
    shapes = [shape_from_height(1.6), shape_from_height(1.9), shape_from_height(1.78).with_trunk_offsets(CMU_LIKE_TRUNK)]
    sims = [physics.simulator(physics_model(build_humanoid(shape))) for shape in shapes]
    shared = sims[0].shared
    assert all(sim.shared is shared for sim in sims)
    programs = (shared._compiled_start, shared._compiled_frames)
    compiled = []
    for sim, frames in zip(sims, (1, 10, 23), strict=True):
        trajectory = sim.compiled_rollout(*sim.default_state(), sim.rest_controls(frames))
        compiled.append([program._cache_size() for program in programs])
        assert trajectory.keypoints.shape == (frames + 1, 17, 3)
        data = mujoco.MjData(sim.mj_model)
        mujoco.mj_kinematics(sim.mj_model, data)
        np.testing.assert_allclose(np.asarray(trajectory.keypoints[0]), data.site_xpos[sim.sites], atol=1e-6)
    assert compiled[1] == compiled[2] == compiled[0]  # the first body and length compiled (or found) them
    assert jax.tree.structure(sims[0].body) == jax.tree.structure(sims[1].body) == jax.tree.structure(sims[2].body)
