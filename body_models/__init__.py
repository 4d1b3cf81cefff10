"""The humanoid: skeleton, shape from keypoints, simulator model files, kinematics."""
