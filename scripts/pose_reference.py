#!/usr/bin/env python3
"""Reference body keypoints from Python MediaPipe Pose (legacy solution) for pipeline/tests/body.rs.

Runs `mp.solutions.pose` (mediapipe==0.10.21, static_image_mode: detector on every image, no
smoothing) with model_complexity 1 (pose_landmark_full.tflite, shipped in the wheel; the lite model is
not in the wheel, MediaPipe downloads it at run time, so it is not compared) on the test photos and writes the 33 keypoints
(x, y in frame pixels, visibility) to pipeline/tests/fixtures/pose_mediapipe.json.

    scripts/fetch-test-faces.sh && scripts/fetch-test-body.sh
    /work/pyenv-mp/bin/python scripts/pose_reference.py   # any Python with mediapipe==0.10.21, opencv
"""
import json
import pathlib
import sys

import cv2
import mediapipe as mp

ROOT = pathlib.Path(__file__).resolve().parent.parent
PHOTOS = {
    "astronaut.png": ROOT / "target/test-data/faces/astronaut.png",
    "grace_hopper.jpg": ROOT / "target/test-data/faces/grace_hopper.jpg",
    "camera.png": ROOT / "target/test-data/body/camera.png",
}


def main() -> int:
    out = {"mediapipe": mp.__version__, "images": {}}
    for name, path in PHOTOS.items():
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # grey files come back as 3 equal channels
        if bgr is None:
            print(f"missing {path}: run the fetch scripts first", file=sys.stderr)
            return 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        entry = {"width": w, "height": h}
        for complexity, model in ((1, "full"),):
            with mp.solutions.pose.Pose(
                static_image_mode=True, model_complexity=complexity, min_detection_confidence=0.5
            ) as pose:
                result = pose.process(rgb)
            if result.pose_landmarks is None:
                entry[model] = None
                continue
            entry[model] = [
                [round(p.x * w, 3), round(p.y * h, 3), round(p.visibility, 4)]
                for p in result.pose_landmarks.landmark
            ]
        out["images"][name] = entry
    dest = ROOT / "pipeline/tests/fixtures/pose_mediapipe.json"
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
