"""Builds a MediaPipe Tasks ``PoseLandmarker`` model bundle (.task) from the npm package @mediapipe/pose.

The npm package @mediapipe/pose (Google, Apache-2.0; see LICENSE-blazepose.txt and README.md) ships the
BlazePose models of the legacy MediaPipe Pose solution without the TFLite metadata that MediaPipe Tasks
needs: ``pose_landmark_{lite,full,heavy}.tflite`` (landmark models) and
``pose_solution_packed_assets.data``, an Emscripten file package holding ``pose_detection.tflite``
(the person detector; its offsets are read from ``pose_solution_packed_assets_loader.js``).
This script adds the metadata (name, image input normalisation: detector (x - 127.5) / 127.5,
landmark model x / 255) and zips both models, uncompressed and 4-byte aligned, into a .task bundle
with the member names PoseLandmarker expects (``pose_detector.tflite``, ``pose_landmarks_detector.tflite``).
Zip timestamps are fixed, so the output is byte-for-byte reproducible.

It must run with mediapipe 0.10.21: mediapipe 1.x lacks the compiled metadata module
(``mediapipe.tasks.cc``) that the metadata writers import. The resulting bundle loads in 1.x. ::

    npm pack @mediapipe/pose@0.5.1675469404
    mkdir -p /tmp/mpnpm && tar -xzf mediapipe-pose-0.5.1675469404.tgz -C /tmp/mpnpm
    python -m venv /tmp/mpbuild && /tmp/mpbuild/bin/pip install mediapipe==0.10.21
    /tmp/mpbuild/bin/python data/models/make_pose_task.py /tmp/mpnpm/package data/models/pose_landmarker_full.task

The sha256 of the inputs and of the output are printed.
"""

import argparse
import hashlib
import json
import re
import zipfile
from pathlib import Path

from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils
from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import AlignZipFile

DETECTOR_IN_PACKAGE = "pose_detection.tflite"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_detector(package: Path) -> bytes:
    """Extracts pose_detection.tflite from the Emscripten data package, using the loader's file table."""
    loader = (package / "pose_solution_packed_assets_loader.js").read_text()
    files = json.loads(re.search(r'"files":\s*(\[.*?\])', loader).group(1))
    entry = next(f for f in files if f["filename"].endswith("/" + DETECTOR_IN_PACKAGE))
    data = (package / "pose_solution_packed_assets.data").read_bytes()
    return data[entry["start"]:entry["end"]]


def with_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    """Returns the model with TFLite metadata: general info, one RGB image input, plain feature outputs."""
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "BlazePose (MediaPipe Pose)").add_image_input([mean], [std])
    for _ in writer_utils.get_output_tensor_names(bytearray(model)):
        writer.add_feature_output()
    out, _ = writer.populate()
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", type=Path, help="unpacked npm package dir (the tarball's package/)")
    parser.add_argument("output", type=Path, help="output .task file")
    parser.add_argument("--variant", choices=["lite", "full", "heavy"], default="full", help="landmark model")
    args = parser.parse_args()

    version = json.loads((args.package / "package.json").read_text())["version"]
    print(f"@mediapipe/pose {version}")
    detector = read_detector(args.package)
    landmark_name = f"pose_landmark_{args.variant}.tflite"
    landmarks = (args.package / landmark_name).read_bytes()
    print(f"  {sha256(args.package.joinpath('pose_solution_packed_assets.data').read_bytes())}"
          "  pose_solution_packed_assets.data")
    print(f"  {sha256(detector)}  {DETECTOR_IN_PACKAGE} ({len(detector)} bytes)")
    print(f"  {sha256(landmarks)}  {landmark_name} ({len(landmarks)} bytes)")

    members = {
        "pose_detector.tflite": with_metadata(detector, "pose_detector", 127.5, 127.5),
        "pose_landmarks_detector.tflite": with_metadata(landmarks, "pose_landmarks_detector", 0.0, 255.0),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with AlignZipFile(args.output, mode="w", alignment=4) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)  # ZIP_STORED, fixed time: reproducible
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    for name, data in members.items():
        print(f"  {sha256(data)}  {name} (in bundle, {len(data)} bytes)")
    print(f"{sha256(args.output.read_bytes())}  {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
