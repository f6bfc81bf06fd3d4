#!/usr/bin/env python3
"""Python MediaPipe FaceMesh (mediapipe==0.10.21, the legacy `mp.solutions` API) as doppel's reference
for the face tracker: fidelity fixtures and the speed baseline.

  fixture OUT.json IMAGE...   static-image mode on each image: the detector's faces
                              (mp.solutions.face_detection, short-range model) and the 468-point
                              meshes (mp.solutions.face_mesh), in pixels, written as JSON. doppel's
                              tests compare against this file (pipeline/tests/fixtures/track/), so CI
                              needs no mediapipe.
  speed DIR [PASSES]          tracking mode (static_image_mode=False) on the PNG frames of DIR, in
                              name order, decoded into memory first; prints one JSON line with
                              per-frame milliseconds (p50, p99, mean) of FaceMesh.process, the
                              first frame (detector) left out; PASSES (default 1) loops over the
                              frames that many times. doppel's track benchmark
                              (pipeline/benches/track.rs) runs this on the frames it times itself.

Needs: pip install mediapipe==0.10.21 (brings numpy and opencv). Regenerate the fixture with
  scripts/fetch-test-faces.sh && python scripts/mediapipe_facemesh.py fixture \
      pipeline/tests/fixtures/track/mediapipe_facemesh.json target/test-data/faces/*.{png,jpg}
"""
import json
import os
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

MAX_FACES = 5


def load_rgb(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def fixture(out, paths):
    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=MAX_FACES, refine_landmarks=False,
        min_detection_confidence=0.5)
    detector = mp.solutions.face_detection.FaceDetection(
        model_selection=0, min_detection_confidence=0.5)
    images = []
    for path in paths:
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        detections = []
        for d in detector.process(rgb).detections or []:
            b = d.location_data.relative_bounding_box
            detections.append({
                "score": round(float(d.score[0]), 4),
                "box": [round(v, 2) for v in (b.xmin * w, b.ymin * h, (b.xmin + b.width) * w,
                                              (b.ymin + b.height) * h)],
                "keypoints": [[round(k.x * w, 2), round(k.y * h, 2)]
                              for k in d.location_data.relative_keypoints],
            })
        faces = []
        for lm in mesh.process(rgb).multi_face_landmarks or []:
            # x, y in pixels; z in the same scale as x (MediaPipe normalises z by the image width).
            faces.append([[round(p.x * w, 2), round(p.y * h, 2), round(p.z * w, 2)]
                          for p in lm.landmark])
        images.append({"image": os.path.basename(path), "width": w, "height": h,
                       "detections": detections, "meshes": faces})
        print(f"{os.path.basename(path)}: {len(detections)} detections, {len(faces)} meshes",
              file=sys.stderr)
    doc = {"generator": f"scripts/mediapipe_facemesh.py, mediapipe {mp.__version__}",
           "max_faces": MAX_FACES, "images": images}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def speed(folder, passes=1):
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    frames = [load_rgb(os.path.join(folder, n)) for n in names] * passes
    if len(frames) < 2:
        raise SystemExit(f"{folder}: need at least 2 PNG frames")
    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=1, refine_landmarks=False,
        min_detection_confidence=0.5, min_tracking_confidence=0.5)
    times, found = [], 0
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        result = mesh.process(frame)
        ms = (time.perf_counter() - start) * 1000.0
        found += bool(result.multi_face_landmarks)
        if i > 0:
            times.append(ms)
    t = np.array(times)
    print(json.dumps({"frames": len(times), "faces_found": found,
                      "p50_ms": float(np.percentile(t, 50)), "p99_ms": float(np.percentile(t, 99)),
                      "mean_ms": float(t.mean())}))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "fixture":
        fixture(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "speed":
        speed(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    else:
        raise SystemExit(__doc__)
