#!/usr/bin/env python3
"""Makes the reference files for pipeline/tests/onnx.rs with Python ONNX Runtime (a tool, not a test
dependency: the outputs are committed under pipeline/tests/fixtures/onnx/).

    python3 -m venv /tmp/ortvenv && /tmp/ortvenv/bin/pip install onnxruntime==1.32.0 numpy pillow onnx
    /tmp/ortvenv/bin/python scripts/onnx_reference.py

What it writes (all small):
  dark_160x90.png                 a Big Buck Bunny frame (assets/bigbuckbunny.mp4, frame 60), 160x90, x0.3
  dark_160x90.zero_dce.png        models/zero_dce_pp_neuro.onnx on it (NCHW, 0..1)
  crop_256.png                    the same frame, centre 720x720 crop scaled to 256x256
  crop_256.selfie_mask.png        models/selfie_segmentation.onnx on it (NHWC, 0..1, 1 channel -> grey)
  tint.onnx                       a tiny "base model": y = x * gain + bias, gain/bias [1,3,1,1] are
                                  initializers that are also inputs (overridable), identity by default
  tint_warm.onnx_adapter, tint_cool.onnx_adapter   ONNX Runtime adapters that set gain/bias
  upscale2.onnx                   a tiny x2 nearest-neighbour upscaler (NCHW, dynamic size): tests the scale factor
  dark_160x90.tint_warm.png, dark_160x90.tint_cool.png   tint.onnx on dark_160x90.png, each adapter active

Pixels go in as u8 / 255 (RGB, alpha dropped) and come out as clamp(round(y * 255)), as doppel does; the
Rust test allows +-1 per channel for rounding and float-order differences.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "pipeline", "tests", "fixtures", "onnx")
MODELS = os.path.join(ROOT, "models")
VIDEO = os.path.join(ROOT, "assets", "bigbuckbunny.mp4")


def frame(index):
    """One RGB frame of the bundled clip, decoded by ffmpeg."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", VIDEO, "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(720, 1280, 3)


def save(name, rgba):
    Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, name), optimize=True)
    print("wrote", name, rgba.shape)


def load(name):
    """Reads back what was saved, so references are made from exactly the committed pixels."""
    return np.asarray(Image.open(os.path.join(OUT, name)).convert("RGBA"))


def to_u8(y):
    return np.clip(np.floor(y * 255.0 + 0.5), 0, 255).astype(np.uint8)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def with_alpha(rgb, alpha):
    return np.dstack([rgb, alpha])


def main():
    os.makedirs(OUT, exist_ok=True)
    f = frame(60)

    # Zero-DCE++ on a dark frame: NCHW, dynamic size, 0..1.
    small = np.asarray(Image.fromarray(f).resize((160, 90), Image.BILINEAR))
    dark = (small.astype(np.float32) * 0.3 + 0.5).astype(np.uint8)
    save("dark_160x90.png", with_alpha(dark, np.full((90, 160), 255, np.uint8)))
    rgba = load("dark_160x90.png")
    x = (rgba[..., :3].astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)[None]
    y = session(os.path.join(MODELS, "zero_dce_pp_neuro.onnx")).run(None, {"image": x})[0]
    save("dark_160x90.zero_dce.png", with_alpha(to_u8(y[0].transpose(1, 2, 0)), rgba[..., 3]))

    # Selfie segmentation: NHWC, fixed 256x256, 1-channel mask.
    crop = f[:, 280:1000]
    square = np.asarray(Image.fromarray(crop).resize((256, 256), Image.BILINEAR))
    save("crop_256.png", with_alpha(square, np.full((256, 256), 255, np.uint8)))
    rgba = load("crop_256.png")
    x = (rgba[..., :3].astype(np.float32) / np.float32(255.0))[None]
    y = session(os.path.join(MODELS, "selfie_segmentation.onnx")).run(None, {"input_1": x})[0]
    grey = to_u8(y[0, :, :, 0])
    save("crop_256.selfie_mask.png", with_alpha(np.dstack([grey, grey, grey]), rgba[..., 3]))

    # A base model with swappable weights, and two adapters ("skills") for it.
    gain0 = np.ones((1, 3, 1, 1), np.float32)
    bias0 = np.zeros((1, 3, 1, 1), np.float32)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "gain"], ["scaled"]),
         helper.make_node("Add", ["scaled", "bias"], ["tinted"])],
        "tint",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"]),
         helper.make_tensor_value_info("gain", TensorProto.FLOAT, [1, 3, 1, 1]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, [1, 3, 1, 1])],
        [helper.make_tensor_value_info("tinted", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [numpy_helper.from_array(gain0, "gain"), numpy_helper.from_array(bias0, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    tint_path = os.path.join(OUT, "tint.onnx")
    onnx.save(model, tint_path)
    print("wrote tint.onnx")

    skills = {
        "warm": (np.array([1.1, 0.95, 0.7], np.float32), np.array([0.06, 0.02, 0.0], np.float32)),
        "cool": (np.array([0.7, 0.95, 1.15], np.float32), np.array([0.0, 0.02, 0.08], np.float32)),
    }
    tint = session(tint_path)
    rgba = load("dark_160x90.png")
    x = (rgba[..., :3].astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)[None]
    for name, (gain, bias) in skills.items():
        adapter = ort.AdapterFormat()
        adapter.set_adapter_version(1)
        adapter.set_model_version(1)
        adapter.set_parameters({
            "gain": ort.OrtValue.ortvalue_from_numpy(gain.reshape(1, 3, 1, 1)),
            "bias": ort.OrtValue.ortvalue_from_numpy(bias.reshape(1, 3, 1, 1)),
        })
        path = os.path.join(OUT, f"tint_{name}.onnx_adapter")
        adapter.export_adapter(path)
        print("wrote", os.path.basename(path))
        lora = ort.LoraAdapter()
        lora.Load(path)
        run = ort.RunOptions()
        run.add_active_adapter(lora)
        y = tint.run(None, {"image": x}, run)[0]
        expected = x * gain.reshape(1, 3, 1, 1) + bias.reshape(1, 3, 1, 1)
        assert np.abs(y - expected).max() < 1e-6, "adapter not applied"
        save(f"dark_160x90.tint_{name}.png", with_alpha(to_u8(y[0].transpose(1, 2, 0)), rgba[..., 3]))
    # A x2 upscaler, to test that outputs come back at frame size x the model's own scale.
    graph = helper.make_graph(
        [helper.make_node("Resize", ["image", "", "scales"], ["upscaled"], mode="nearest")],
        "upscale2",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("upscaled", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "upscale2.onnx"))
    x = np.arange(6, dtype=np.float32).reshape(1, 3, 1, 2)
    y = session(os.path.join(OUT, "upscale2.onnx")).run(None, {"image": x})[0]
    assert y.shape == (1, 3, 2, 4) and y[0, 2, 1, 3] == 5, y
    print("wrote upscale2.onnx")
    print("onnxruntime", ort.__version__, "numpy", np.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()
