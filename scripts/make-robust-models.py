#!/usr/bin/env python3
"""Makes the tiny ONNX models of pipeline/tests/fixtures/robust/ (tests of models doppel must refuse).

    python3 -m venv /tmp/onnxvenv && /tmp/onnxvenv/bin/pip install onnx
    /tmp/onnxvenv/bin/python scripts/make-robust-models.py

  score_1x1.onnx    input 'image' [1,3,64,64] -> output 'score' [1,1,1,1] (the mean): a classifier-like
                    model whose only output looks like a 1-channel image of 1x1 pixel; not an image model
  huge_input.onnx   input 'image' [1,3,100000,100000] -> Identity: a fixed input far past doppel's bound
"""
import os

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "pipeline", "tests", "fixtures", "robust")


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="doppel make-robust-models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))
    print("wrote", name)


def main():
    os.makedirs(OUT, exist_ok=True)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 64])
    score = helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1, 1, 1])
    mean = helper.make_node("ReduceMean", ["image"], ["score"], axes=[1, 2, 3], keepdims=1)
    save(helper.make_graph([mean], "score_1x1", [image], [score]), "score_1x1.onnx")

    big = [1, 3, 100000, 100000]
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, big)
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, big)
    same = helper.make_node("Identity", ["image"], ["out"])
    save(helper.make_graph([same], "huge_input", [x], [y]), "huge_input.onnx")


if __name__ == "__main__":
    main()
