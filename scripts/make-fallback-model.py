#!/usr/bin/env python3
"""Writes pipeline/tests/fixtures/providers/lppool_fallback.onnx: a three-node model (Relu -> LpPool ->
Sigmoid, 1x4x8x8 in, 1x4x7x7 out) whose middle node the OpenVINO execution provider does not take
(plugin onnxruntime-ep-openvino 1.8.1 refuses LpPool; Relu and Sigmoid it runs), so ONNX Runtime runs
that node on its CPU kernels: the partial-fallback case of doppel's provider strict mode.

Checked when written (Python onnxruntime 1.32.0 with that plugin, session.disable_cpu_ep_fallback=1):
the session is refused with "graph nodes that are assigned to the default CPU EP"; with LpPool replaced
by GlobalLpPool, HardSwish or Erf the whole model runs on OpenVINO.

Needs the `onnx` package (PyPI). Usage: python3 scripts/make-fallback-model.py
"""
import os

import onnx
from onnx import TensorProto, helper

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "pipeline", "tests", "fixtures", "providers", "lppool_fallback.onnx")

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 7, 7])
nodes = [
    helper.make_node("Relu", ["x"], ["r"], name="relu_in"),
    helper.make_node("LpPool", ["r"], ["p"], name="lp_pool", kernel_shape=[2, 2], p=2),
    helper.make_node("Sigmoid", ["p"], ["y"], name="sigmoid_out"),
]
graph = helper.make_graph(nodes, "lppool_fallback", [x], [y])
model = helper.make_model(
    graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="doppel scripts/make-fallback-model.py"
)
model.ir_version = 8
onnx.checker.check_model(model)
os.makedirs(os.path.dirname(out), exist_ok=True)
onnx.save(model, out)
print(f"wrote {out} ({os.path.getsize(out)} bytes)")
