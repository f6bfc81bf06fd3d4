#!/usr/bin/env python3
"""Rewrites every PRelu of an ONNX model into ops ONNX Runtime runs fast on a CPU.

ONNX Runtime (1.32, CPU) does not fuse PRelu into convolutions, and it cannot keep a PRelu in its
blocked NCHWc layout: each one runs as a broadcast element-wise op between two layout reorders. On
MediaPipe's face mesh (23 PRelu) that was 57% of the model's time (ORT profiler: PRelu 44.5%,
ReorderInput/Output 12.6%). The identity used, with a per-channel slope `a`:

    PRelu(x) = Relu(x) + a * min(x, 0) = (1 - a) * Relu(x) + a * x
             = DepthwiseConv1x1[1 - a](Relu(x)) + DepthwiseConv1x1[a](x)

Depthwise 1x1 convolutions and Add stay in the NCHWc layout, so the reorders go too. The result
equals the original up to float rounding (checked here on random inputs; the face mesh: max 3e-5).

    python3 scripts/rewrite_prelu.py IN.onnx OUT.onnx

Needs onnx, numpy and onnxruntime (a tool, not a runtime dependency of doppel).
"""
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def rewrite(model: onnx.ModelProto) -> int:
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, count = [], 0
    for k, node in enumerate(graph.node):
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, slope_name = node.input
        slope = numpy_helper.to_array(inits[slope_name]).astype(np.float32)
        channels = slope.size
        if slope.shape not in [(channels,), (1, channels, 1, 1), (channels, 1, 1)]:
            raise SystemExit(f"{node.name}: slope shape {slope.shape} is not per channel")
        p = f"prelu_rw{k}"
        graph.initializer.append(
            numpy_helper.from_array((1.0 - slope).reshape(channels, 1, 1, 1), p + "_keep"))
        graph.initializer.append(
            numpy_helper.from_array(slope.reshape(channels, 1, 1, 1), p + "_slope"))
        nodes += [
            helper.make_node("Relu", [x], [p + "_relu"], name=p + "_relu"),
            helper.make_node("Conv", [p + "_relu", p + "_keep"], [p + "_pos"], name=p + "_pos",
                             group=channels, kernel_shape=[1, 1]),
            helper.make_node("Conv", [x, p + "_slope"], [p + "_lin"], name=p + "_lin",
                             group=channels, kernel_shape=[1, 1]),
            helper.make_node("Add", [p + "_pos", p + "_lin"], [node.output[0]], name=p),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    # Slopes no longer used are dropped.
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return count


def timed(session, feeds, runs=100):
    for _ in range(20):
        session.run(None, feeds)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(runs):
            session.run(None, feeds)
        best = min(best, (time.perf_counter() - start) / runs * 1e3)
    return best


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    count = rewrite(model)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    before = ort.InferenceSession(src, options)
    after = ort.InferenceSession(dst, options)
    rng = np.random.default_rng(0)
    feeds = {}
    for i in before.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = rng.random(shape, dtype=np.float32)
    diff = max(float(np.abs(a - b).max())
               for a, b in zip(before.run(None, feeds), after.run(None, feeds)))
    print(f"{dst}: {count} PRelu rewritten; max output difference {diff:.2e}; "
          f"1 thread {timed(before, feeds):.2f} ms -> {timed(after, feeds):.2f} ms")
    if diff > 1e-3:
        raise SystemExit("outputs differ: not written correctly")


if __name__ == "__main__":
    main()
