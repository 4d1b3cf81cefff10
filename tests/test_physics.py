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
from motion_recon.physics import rotations
from motion_recon.physics.mjx_backend import MjxSimulator
from motion_recon.physics.model import SimConfig, State
from motion_recon.physics.tds_backend import SimulationDiverged

try:
    import pytinydiffsim
except ImportError:  # CPython 3.11 wheels only (the dependency's marker); CI installs it
    pytinydiffsim = None
needs_tds = pytest.mark.skipif(pytinydiffsim is None, reason="pytinydiffsim is not installed (CPython 3.11 only)")


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
def test_mjx_agrees_with_pytinydiffsim_in_flight_and_vmaps(model):
    """Two airborne starts, batched with vmap in MJX and one by one in pytinydiffsim."""
    mjx_sim, tds_sim = physics.simulator(model), physics.simulator(model, engine="tds")
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
        error = np.linalg.norm(np.asarray(batched.keypoints[k]) - reference.keypoints, axis=-1).max()
        assert moved > 0.3 and error < 0.003
        assert np.all(reference.contacts == 0)


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


def test_gradient_matches_central_differences_with_steady_contacts(model):
    """float64, 0.04 s standing on both feet (contacts active throughout, none made or broken)."""
    with jax.enable_x64(True):
        sim = MjxSimulator(model, SimConfig(fps=50.0))
        state = sim.default_state()
        rng = np.random.default_rng(2)
        qvel = np.array(state.qvel, dtype=float)
        qvel[6:] = rng.normal(scale=0.1, size=qvel.size - 6)  # not at exact rest (MJX zero-norm trap)
        keys = sim.rest_controls(2) + rng.normal(scale=0.05, size=(3, model.num_joints, 4))
        weights = rng.normal(size=(3, 17, 3))

        def loss(controls):
            return jnp.sum(sim.rollout(np.asarray(state.qpos, float), qvel, controls).keypoints * weights)

        grad = np.asarray(jax.jit(jax.grad(loss))(keys))
        direction = rng.normal(size=keys.shape)
        value = jax.jit(loss)
        eps = 1e-5
        central = (value(keys + eps * direction) - value(keys - eps * direction)) / (2 * eps)
        assert float(central) == pytest.approx(float(np.sum(grad * direction)), rel=1e-5)
        contacts = np.asarray(sim.compiled_rollout(np.asarray(state.qpos, float), qvel, keys).contacts)
        assert np.all(contacts == 1.0)


def test_compilation_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MOTION_RECON_CACHE", str(tmp_path / "jax"))
    assert physics.cache_dir() == tmp_path / "jax"
    monkeypatch.delenv("MOTION_RECON_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert physics.cache_dir() == tmp_path / "motion-recon" / "jax"


def test_bodies_of_one_structure_share_one_compiled_rollout():
    """Two people of different size: one program, compiled once, and each body simulated as
    itself (its keypoints at the start are C MuJoCo's sites of its own model)."""
    sims = [physics.simulator(physics_model(build_humanoid(shape_from_height(h)))) for h in (1.6, 1.9)]
    shared = sims[0].shared
    assert sims[1].shared is shared
    compiled_before = shared.compiled_rollout._cache_size()
    for sim in sims:
        trajectory = sim.compiled_rollout(*sim.default_state(), sim.rest_controls(1))
        data = mujoco.MjData(sim.mj_model)
        mujoco.mj_kinematics(sim.mj_model, data)
        np.testing.assert_allclose(np.asarray(trajectory.keypoints[0]), data.site_xpos[sim.sites], atol=1e-6)
    assert shared.compiled_rollout._cache_size() == compiled_before + 1
    assert jax.tree.structure(sims[0].body) == jax.tree.structure(sims[1].body)
