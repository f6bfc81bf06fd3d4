#!/usr/bin/env python3
"""Python MediaPipe's selfie segmentation + OpenCV blur on the same frames as doppel's `background`
bench (pipeline/benches/background.rs): the baseline of the background-blur throughput figure.

  speed DIR [PASSES]   per frame: SelfieSegmentation(model_selection=1).process (landscape model,
                       MediaPipe's own resize and TFLite + XNNPACK), a Gaussian blur of the frame
                       (cv2.GaussianBlur with the 55x55 kernel of MediaPipe's own selfie
                       segmentation example, docs/solutions/selfie_segmentation.md),
                       and the composite frame * mask + blurred * (1 - mask) in float32 numpy.
                       Prints one JSON line: {"p50_ms": .., "p99_ms": .., "segment_p50_ms": ..,
                       "frames": ..} (segment_*: the segmentation call alone).

Needs mediapipe==0.10.21 and opencv-python-headless (e.g. a venv in target/venv).
"""
import glob
import json
import os
import sys
import time

import cv2
import mediapipe as mp
import numpy as np


def speed(folder, passes):
    paths = sorted(glob.glob(os.path.join(folder, "*.png")))
    frames = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]
    times, segment = [], []
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) as seg:
        for _ in range(passes):
            for rgb in frames:
                t0 = time.perf_counter()
                mask = seg.process(rgb).segmentation_mask
                segment.append((time.perf_counter() - t0) * 1000.0)
                blurred = cv2.GaussianBlur(rgb, (55, 55), 0)
                m = mask[..., None]
                out = (rgb.astype(np.float32) * m + blurred.astype(np.float32) * (1.0 - m)).astype(np.uint8)
                times.append((time.perf_counter() - t0) * 1000.0)
                del out
    def pct(values, q):
        values = sorted(values[1:])  # the first frame pays one-off setup
        return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]

    print(json.dumps({"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99),
                      "segment_p50_ms": pct(segment, 0.5), "frames": len(times) - 1}))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "speed":
        sys.exit(__doc__)
    speed(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
