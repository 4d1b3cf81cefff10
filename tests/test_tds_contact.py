"""Floor contact in the pytinydiffsim engine, against C MuJoCo."""

import dataclasses

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from body_models.model_files import physics_model
from motion_recon import physics

pytest.importorskip("pytinydiffsim")  # CPython 3.11 wheels only; present in CI


@pytest.mark.parametrize("floor_contact", ["all", "feet"])
def test_collision_shapes_match_the_mjcf(humanoid, floor_contact):
    """In a random pose, each link's closest point to the floor is that of its colliding MJCF geoms."""
    sim = physics.simulator(physics_model(humanoid, floor_contact=floor_contact), engine="tds")
    rng = np.random.default_rng(0)
    qpos = np.array(sim.default_state().qpos, dtype=float)
    qpos[2] = 0.3
    for index in [np.arange(3, 7), *sim.qpos_index]:
        qpos[index] = Rotation.from_rotvec(rng.normal(scale=0.6, size=3)).as_quat(scalar_first=True)
    sim._record(sim._to_tds(qpos), np.zeros(sim.nv))  # sets the pose and its kinematics
    tds = {}
    for point in sim.world.compute_contacts_multi_body([sim.floor, sim.mb], sim.world.get_collision_dispatcher())[0]:
        name = sim.mb.links[point.link_b].link_name
        tds[name] = min(tds.get(name, np.inf), point.distance)
    m = sim.mj_model
    d = mujoco.MjData(m)
    d.qpos[:] = qpos
    mujoco.mj_kinematics(m, d)
    reference = {}
    for g in np.flatnonzero((m.geom_contype > 0) & (m.geom_bodyid > 0)):
        half = m.geom_size[g, 1] if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE else 0.0
        lowest = d.geom_xpos[g, 2] - abs(d.geom_xmat[g, 8]) * half - m.geom_size[g, 0]
        name = m.body(m.geom_bodyid[g]).name
        reference[name] = min(reference.get(name, np.inf), lowest)
    assert tds.keys() == reference.keys()
    np.testing.assert_allclose([tds[n] for n in reference], list(reference.values()), atol=1e-6)


def test_pd_holds_a_standing_pose_like_mujoco(model):
    sim = physics.simulator(model, engine="tds")
    trajectory = sim.rollout(*sim.default_state(), sim.rest_controls(25))
    pelvis = trajectory.keypoints[:, 0, 2]
    assert np.all(np.isfinite(trajectory.qpos))
    assert np.abs(pelvis - pelvis[0]).max() < 0.05
    assert np.all(trajectory.contacts == 1.0)  # both feet on the floor throughout
    reference = physics.simulator(model, engine="mujoco").rollout(*sim.default_state(), sim.rest_controls(25))
    assert abs(pelvis[-1] - reference.keypoints[-1, 0, 2]) < 0.02


def test_without_pd_the_body_falls_onto_the_floor(humanoid):
    model = physics_model(humanoid, floor_contact="all")
    limp = dataclasses.replace(model, stiffness=(0.0,) * model.num_joints)
    sim = physics.simulator(limp, engine="tds")
    state = sim.default_state()
    qvel = np.array(state.qvel)
    qvel[4] = 0.3  # a slight forward sway
    trajectory = sim.rollout(state.qpos, qvel, sim.rest_controls(75))  # 3 s: lying on the floor at the end
    pelvis = trajectory.keypoints[:, 0, 2]
    assert np.all(np.isfinite(trajectory.qpos))
    assert pelvis[50] < 0.6 * pelvis[0] and pelvis[-1] < 0.2
    assert trajectory.keypoints[..., 2].min() > -0.02  # nothing sinks through the floor
