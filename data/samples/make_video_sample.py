"""Cuts the bundled demo clip ``walk.mp4`` (one person walking) out of Sports2D's demo video.

Source: ``Sports2D/Demo/demo.mp4`` of the PyPI package sports2d 0.8.34 (BSD-3-Clause; see
LICENSE-video.txt and README.md next to this file), 1768x994, 30 fps, 230 frames, VP9. Run, from the
repository root, on the unzipped wheel (a wheel is a zip file)::

    pip download sports2d==0.8.34 --no-deps -d /tmp/s2d
    unzip -q /tmp/s2d/sports2d-0.8.34-py3-none-any.whl -d /tmp/s2d
    python data/samples/make_video_sample.py /tmp/s2d/Sports2D/Demo/demo.mp4 data/samples/walk.mp4

Keeps frames FIRST..LAST and rows TOP..BOTTOM (full width), scales to WIDTH pixels wide (height
rounded to an even number) and encodes H.264 (libx264, yuv420p, CRF) at 30 fps with PyAV (``av``).
"""

import argparse
from pathlib import Path

import av

# The source shows two people: a man jumping on a box in the upper half (rows y < ~480) until about
# frame 185, and a woman walking right to left on the grass (rows ~535..965) from about frame 55 to 190.
# Frames 58..182 (125 frames, 4.17 s) hold the walk with the woman fully in the image, and rows
# 500..993 keep the grass and cut the man out, so exactly one person is visible. (Frame 183 is left
# out: the man lands from his back flip and his feet reach below row 500 there.)
FIRST, LAST = 58, 182  # frame indices, inclusive
TOP, BOTTOM = 500, 994  # rows kept: TOP <= y < BOTTOM
WIDTH = 1280
FPS = 30
CRF = 18  # visually near-lossless; about 1.1 MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="Sports2D/Demo/demo.mp4")
    parser.add_argument("output", type=Path, help="output .mp4")
    args = parser.parse_args()

    with av.open(str(args.source)) as src, av.open(str(args.output), "w") as dst:
        stream = None
        for index, frame in enumerate(src.decode(video=0)):
            if index > LAST:
                break
            if index < FIRST:
                continue
            rgb = frame.to_ndarray(format="rgb24")[TOP:BOTTOM]
            if stream is None:
                height = 2 * round(rgb.shape[0] * WIDTH / rgb.shape[1] / 2)
                stream = dst.add_stream("libx264", rate=FPS)
                stream.width, stream.height, stream.pix_fmt = WIDTH, height, "yuv420p"
                stream.options = {"crf": str(CRF), "preset": "slow"}
            out = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            out = out.reformat(width=WIDTH, height=height, format="yuv420p", interpolation="AREA")
            out.pts = index - FIRST
            dst.mux(stream.encode(out))
        dst.mux(stream.encode())
    print(f"{args.output}: frames {FIRST}..{LAST}, rows {TOP}..{BOTTOM - 1}, {WIDTH}x{height}, "
          f"{args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main()
