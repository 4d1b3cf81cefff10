"""Writers of small fixtures in the datasets' exact on-disk formats, shared by the tests."""

import numpy as np

from motion_recon.datasets.h36m import SUBSET_17


def write_h36m_cdf(path, pose_mm):
    """A D3_Positions file: variable ``Pose``, one record (N, 96), row major, as the release."""
    from cdflib.cdfwrite import CDF

    writer = CDF(str(path), cdf_spec={"Majority": "row_major"}, delete=True)
    spec = {"Variable": "Pose", "Data_Type": CDF.CDF_DOUBLE, "Num_Elements": 1, "Rec_Vary": True,
            "Dim_Sizes": list(pose_mm.shape)}  # fmt: skip
    writer.write_var(spec, var_attrs={}, var_data=pose_mm)
    writer.close()


def h36m_pose_mm(keypoints17) -> np.ndarray:
    """(N, 96) Pose values in millimetres with the 17 joints at their places among the 32 (the
    other 15 copy the pelvis)."""
    keypoints17 = np.asarray(keypoints17, float)
    joints = np.repeat(keypoints17[:, :1], 32, axis=1)
    joints[:, list(SUBSET_17)] = keypoints17
    return (joints * 1000.0).reshape(len(joints), 96)


def coco17_from_h36m(keypoints17) -> np.ndarray:
    """(T, 17, 3) COCO-17 keypoints (z up, metres) that map back to ``keypoints17`` exactly
    (``skeleton.to_h36m``): nose at the Human3.6M neck, eyes at its head, ears 7 cm either side
    of the head along y."""
    from motion_recon import skeleton

    keypoints17 = np.asarray(keypoints17, float)
    coco = np.zeros(keypoints17.shape)
    head, neck = keypoints17[:, skeleton.INDEX["head"]], keypoints17[:, skeleton.INDEX["neck"]]
    for k, name in enumerate(skeleton.COCO17):
        if name in skeleton.INDEX:
            coco[:, k] = keypoints17[:, skeleton.INDEX[name]]
        elif name == "nose":
            coco[:, k] = neck
        else:
            coco[:, k] = head + np.array([0.0, {"left_ear": 0.07, "right_ear": -0.07}.get(name, 0.0), 0.0])
    return coco


def write_aist_keypoints3d(path, coco17):
    """An AIST++ keypoints3d pickle of (T, 17, 3) COCO-17 keypoints given z up in metres: stored
    y up in centimetres, as the release."""
    import pickle

    from motion_recon.datasets.sequence import Y_UP_TO_Z_UP

    with open(path, "wb") as f:
        pickle.dump({"keypoints3d_optim": 100.0 * np.asarray(coco17, float) @ Y_UP_TO_Z_UP}, f)


def aist_camera_record(name, centre, target, focal, size=(1920, 1080)) -> dict:
    """One camera of an AIST++ setting file (aniposelib's record) at ``centre`` looking level at
    ``target`` (z up, metres): rotation and translation in the release's y-up centimetres."""
    from scipy.spatial.transform import Rotation

    from motion_recon.datasets.sequence import Y_UP_TO_Z_UP

    forward = np.asarray(target, float) - np.asarray(centre, float)
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    R = np.stack([right, [0.0, 0.0, -1.0], forward])  # rows: camera x (right), y (down), z (forward)
    t = -R @ np.asarray(centre, float)
    width, height = size
    return {"name": name, "size": [width, height], "matrix": [[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]],
            "distortions": [0.0, 0.0, 0.0, 0.0, 0.0], "rotation": Rotation.from_matrix(R @ Y_UP_TO_Z_UP).as_rotvec().tolist(),
            "translation": (100.0 * t).tolist()}  # fmt: skip
