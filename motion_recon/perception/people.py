"""People seen in a video: per-frame 2D detections in the 17-joint layout, linked over time into
tracks, and the chosen person's ``PersonTrack``.

Detectors and keypoint files give, per frame, any number of people in their own layout
(BlazePose-33, COCO-17, Human3.6M-17); ``Detection.from_layout`` maps each into the 17 joints
(``motion_recon.skeleton``, the one place that knows the layouts). ``track_people`` links them
frame to frame; tracks are ordered by prominence (bounding-box height summed over the frames the
person is seen in), so person 0 is the main actor of a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motion_recon import skeleton

# A keypoint counts as seen (for boxes and tracking) above this confidence.
SEEN_CONFIDENCE = 0.3
# A detection continues a track when its keypoints lie, on average, within this fraction of the
# track's last box height from the track's last keypoints...
MAX_TRACK_STEP = 0.5
# ...and the track was last seen at most this many seconds ago.
MAX_TRACK_GAP_S = 0.5
# Two detections in one frame closer than this fraction of a box height are one person.
DUPLICATE_DISTANCE = 0.2


@dataclass(frozen=True)
class Detection:
    """One person in one frame, in the 17-joint layout.

    keypoints (17, 2) pixels; confidence (17,) in [0, 1]; world (17, 3) metres in the camera's
    axes (x right, y down, z forward) with the pelvis at the origin, when the detector gives it.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    world: np.ndarray | None = None

    @classmethod
    def from_layout(cls, keypoints, confidence, layout: str, world=None) -> Detection:
        """A detection from (K, 2) pixels and (K,) confidences in ``layout`` ("blazepose33",
        "coco17" or "h36m17"), with optional (K, 3) world keypoints of the same layout."""
        keypoints = np.asarray(keypoints, float)
        confidence = np.clip(np.nan_to_num(np.asarray(confidence, float)), 0.0, 1.0)
        if layout == "h36m17":
            if keypoints.shape != (skeleton.NUM_JOINTS, 2):
                raise ValueError(f"h36m17 keypoints need shape (17, 2), got {keypoints.shape}")
            mapped, conf = keypoints, confidence
            world = None if world is None else np.asarray(world, float)
        else:
            mapped, conf = skeleton.to_h36m(keypoints, layout, confidence)
            world = None if world is None else skeleton.to_h36m(world, layout)
        if world is not None:
            world = world - world[skeleton.ROOT]
        return cls(mapped, conf, world)

    def box_height(self) -> float:
        """Height (pixels) of the box around the seen keypoints; 0 with fewer than two."""
        seen = self.keypoints[self.confidence >= SEEN_CONFIDENCE]
        return float(np.ptp(seen[:, 1])) if len(seen) >= 2 else 0.0

    def distance(self, other: Detection) -> float:
        """Mean pixel distance between keypoints seen in both (inf when none is)."""
        both = (self.confidence >= SEEN_CONFIDENCE) & (other.confidence >= SEEN_CONFIDENCE)
        if not both.any():
            return float("inf")
        return float(np.linalg.norm(self.keypoints[both] - other.keypoints[both], axis=-1).mean())


@dataclass(frozen=True)
class PersonTrack:
    """One person through a video: keypoints (T, 17, 2) pixels (NaN where unseen), confidence
    (T, 17) (0 where unseen), world (T, 17, 3) or None (NaN where unseen), the video's frame
    rate and image size, and where it came from."""

    keypoints: np.ndarray
    confidence: np.ndarray
    world: np.ndarray | None
    fps: float
    width: int
    height: int
    source: dict = field(default_factory=dict)

    @property
    def found(self) -> np.ndarray:
        """(T,) whether the person was seen in each frame."""
        return (self.confidence > 0).any(axis=1)


def without_duplicates(people: list[Detection]) -> list[Detection]:
    """One detection per person: of detections closer than ``DUPLICATE_DISTANCE`` box heights,
    the most confident."""
    kept: list[Detection] = []
    for person in sorted(people, key=lambda d: -d.confidence.mean()):
        if all(person.distance(k) > DUPLICATE_DISTANCE * max(k.box_height(), 1.0) for k in kept):
            kept.append(person)
    return kept


def track_people(frames: list[list[Detection]], fps: float) -> list[dict[int, Detection]]:
    """Links per-frame detections into tracks ({frame: detection}), most prominent first.

    Duplicates are dropped first (``without_duplicates``); then greedy association, frame by
    frame: the closest (detection, track) pairs first, each track and detection used once, within
    ``MAX_TRACK_STEP`` box heights and ``MAX_TRACK_GAP_S``.
    """
    max_gap = max(1, int(round(MAX_TRACK_GAP_S * fps)))
    tracks: list[dict[int, Detection]] = []
    for t, people in enumerate(frames):
        people = without_duplicates(people)
        live = [i for i, track in enumerate(tracks) if t - max(track) <= max_gap]
        pairs = []
        for i in live:
            last = tracks[i][max(tracks[i])]
            scale = max(last.box_height(), 1.0)
            for d, person in enumerate(people):
                step = person.distance(last) / scale
                if step <= MAX_TRACK_STEP:
                    pairs.append((step, i, d))
        taken_tracks, taken_people = set(), set()
        for _, i, d in sorted(pairs):
            if i not in taken_tracks and d not in taken_people:
                tracks[i][t] = people[d]
                taken_tracks.add(i)
                taken_people.add(d)
        tracks += [{t: person} for d, person in enumerate(people) if d not in taken_people]
    return sorted(tracks, key=lambda track: -sum(d.box_height() for d in track.values()))


def select_person(frames: list[list[Detection]], person_index: int, fps: float, width: int, height: int,
                  source: dict, label: str) -> PersonTrack:  # fmt: skip
    """The ``person_index``-th most prominent person of per-frame detections; a ValueError
    (naming ``label``, e.g. the video file) when no person or too few people were found."""
    tracks = track_people(frames, fps)
    if not tracks:
        raise ValueError(f"{label}: no person detected in any of its {len(frames)} frames")
    if not 0 <= person_index < len(tracks):
        raise ValueError(f"{label}: person index {person_index} asked, but {len(tracks)} "
                         f"{'person was' if len(tracks) == 1 else 'people were'} found (indices from 0)")  # fmt: skip
    track = tracks[person_index]
    count = len(frames)
    keypoints = np.full((count, skeleton.NUM_JOINTS, 2), np.nan)
    confidence = np.zeros((count, skeleton.NUM_JOINTS))
    has_world = all(d.world is not None for d in track.values())
    world = np.full((count, skeleton.NUM_JOINTS, 3), np.nan) if has_world else None
    for t, detection in track.items():
        keypoints[t], confidence[t] = detection.keypoints, detection.confidence
        if has_world:
            world[t] = detection.world
    people = max(len(p) for p in frames)
    return PersonTrack(keypoints, confidence, world, fps, width, height,
                       {**source, "person_index": person_index, "people_tracked": len(tracks), "most_in_a_frame": people})  # fmt: skip
