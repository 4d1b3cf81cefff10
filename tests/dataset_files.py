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
