"""DiffPhy: physics-based reconstruction as optimization of PD control trajectories."""
