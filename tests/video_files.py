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


def write_excerpt_video(path, source, frames, columns, size, fps: int, progress=None) -> None:
    """Writes a ``size`` (width, height) video of ``len(frames)`` frames: frame k shows the
    ``source`` video's frame ``frames[k]`` (columns [x0, x1) of it, centred), or plain grey where
    ``frames[k]`` is None."""
    import av

    x0, x1 = columns
    width, height = size
    wanted = {index for index in frames if index is not None}
    picked = {}
    with av.open(str(source)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                picked[index] = frame.to_ndarray(format="rgb24")[:, x0:x1]
            if len(picked) == len(wanted):
                break
    grey = np.full((height, width, 3), 90, np.uint8)
    images = []
    for index in frames:
        image = grey.copy()
        if index is not None:
            crop = picked[index]
            top, left = (height - crop.shape[0]) // 2, (width - crop.shape[1]) // 2
            image[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
        images.append(image)
    write_video(path, images, fps)
