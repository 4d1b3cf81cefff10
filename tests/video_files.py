"""Video files for tests, written and read with PyAV. Run them through ``pipelines.video.isolated``:
PyAV and OpenCV stay out of the test process (see there)."""

import numpy as np


def write_video(path, frames, fps: int = 25, progress=None) -> None:
    """Writes RGB ``frames`` (H, W, 3) uint8 as H.264."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2] if len(frames) else (48, 64)
        stream.pix_fmt = "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def read_video(path, progress=None) -> np.ndarray:
    """Every frame of ``path`` as (T, H, W, 3) uint8 RGB."""
    import av

    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
