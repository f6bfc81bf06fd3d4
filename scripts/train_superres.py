#!/usr/bin/env python3
"""Trains doppel's small super-resolution nets (x2, x4) on photos from Debian wallpaper packages and
exports them to ONNX for the `superres` stage.

    scripts/fetch-photos.sh target/photos mate-backgrounds
    /path/to/venv/bin/python scripts/train_superres.py --photos target/photos --scale 2 \
        --out models/superres_x2.onnx
    (same with --scale 4 --out models/superres_x4.onnx)

Needs torch (CPU is enough), numpy, pillow and onnx. One thread (`torch.set_num_threads(1)`), about
20 minutes per scale on a 2-core machine with the default --steps.

Data and split (BY FILE). The photos are the JPEG photographs of `mate-backgrounds` 1.26.0-1
(usr/share/backgrounds/mate/, GPL-2+, authors listed in the package's debian/copyright):
  held out (never seen in training; the tests measure PSNR on them):
      nature/Dune.jpg, nature/LadyBird.jpg, nature/YellowFlower.jpg
  training: the photos in HELD_IN below (the other nature/ photos and abstract/Elephants, a painting).
The degradation is the one the tests use: the low-resolution image is the high-resolution one
downscaled by PIL's bicubic (Catmull-Rom, antialiased), the same filter as fast_image_resize's
CatmullRom in the Rust tests.

Network (works on RGB, not luma: the GPU twin then needs no colour conversion and chroma gets sharpened
too). Input: [1, 3, H, W] float RGB 0..1 (dynamic H, W); output [1, 3, sH, sW] RGB, nominally 0..1
(not clipped in the graph: the stage clamps when it converts to 8 bits).

    f1 = relu(conv3x3(x, 3 -> C))                 "conv1"
    f2 = relu(conv3x3(f1, C -> C))                "conv2"
    f3 = relu(conv3x3(f2, C -> C))                "conv3"
    r  = conv3x3(f3, C -> 3 s^2)                  "conv4"
    k  = conv5x5(x, 3 -> 3 s^2)                   "skip": bicubic upsampling written as a fixed conv
    y  = pixel_shuffle(r + k, s)

Every conv pads by replicating the edge (ONNX Pad mode=edge), so a tile with a margin of 4 pixels gives
exactly the pixels of the whole frame. "skip" is the Catmull-Rom (a = -0.5) interpolation folded into
one 5x5 kernel per output phase: the net starts at bicubic and learns only the residual. Output
channel c*s*s + dy*s + dx goes to pixel (s*y + dy, s*x + dx) of colour c (PyTorch pixel_shuffle, ONNX
DepthToSpace mode CRD). The ONNX initializers keep these names (conv1.weight, conv1.bias, ...,
skip.weight, skip.bias) and the model's metadata_props say doppel.superres.scale = s and
doppel.superres.channels = C; the Rust GPU twin reads both from the file.
"""

import argparse
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

PHOTO_DIR = "usr/share/backgrounds/mate"
HELD_OUT = ["nature/Dune.jpg", "nature/LadyBird.jpg", "nature/YellowFlower.jpg"]
HELD_IN = [
    "nature/Aqua.jpg",
    "nature/Blinds.jpg",
    "nature/FreshFlower.jpg",
    "nature/Garden.jpg",
    "nature/GreenMeadow.jpg",
    "nature/RainDrops.jpg",
    "nature/Storm.jpg",
    "nature/TwoWings.jpg",
    "nature/Wood.jpg",
    "abstract/Elephants_3840x2160.jpg",
]
# The held-out photos are measured at a quarter of their size (about 640 pixels wide): the wallpapers
# are soft macro shots, and smaller versions hold the dense detail super-resolution is about.
EVAL_SIZE = 0.25
assert not set(HELD_OUT) & set(HELD_IN)


def cubic(x, a=-0.5):
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def bicubic_kernel(scale):
    """[3 s^2, 3, 5, 5] weights: Catmull-Rom upsampling (half-pixel centres) as a conv + pixel shuffle."""
    taps = np.zeros((scale, 5))
    for p in range(scale):
        u = (p + 0.5) / scale - 0.5  # source position relative to the centre pixel
        base = math.floor(u)
        for k in range(-1, 3):
            taps[p, base + k + 2] = cubic(u - (base + k))
    w = np.zeros((3 * scale * scale, 3, 5, 5), dtype=np.float32)
    for c in range(3):
        for dy in range(scale):
            for dx in range(scale):
                w[c * scale * scale + dy * scale + dx, c] = np.outer(taps[dy], taps[dx])
    return torch.from_numpy(w)


class SuperRes(nn.Module):
    def __init__(self, scale, channels):
        super().__init__()
        self.scale = scale
        out = 3 * scale * scale
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, padding_mode="replicate")
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate")
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate")
        self.conv4 = nn.Conv2d(channels, out, 3, padding=1, padding_mode="replicate")
        self.skip = nn.Conv2d(3, out, 5, padding=2, padding_mode="replicate")
        with torch.no_grad():
            self.skip.weight.copy_(bicubic_kernel(scale))
            self.skip.bias.zero_()
            self.conv4.weight.mul_(0.1)
            self.conv4.bias.zero_()
        self.skip.requires_grad_(False)

    def forward(self, x):
        f = F.relu(self.conv1(x))
        f = F.relu(self.conv2(f))
        f = F.relu(self.conv3(f))
        return F.pixel_shuffle(self.conv4(f) + self.skip(x), self.scale)


def load_photos(root, names, scale):
    """(hr, lr) float arrays per photo and per pre-scale (the photos are soft at full size: halved
    versions give the net sharper targets, like the quarter-size held-out set)."""
    pairs = []
    for name in names:
        img = Image.open(os.path.join(root, PHOTO_DIR, name)).convert("RGB")
        for pre in (0.25, 0.4, 0.6):
            w, h = int(img.width * pre) // scale * scale, int(img.height * pre) // scale * scale
            hr = img.resize((w, h), Image.BICUBIC)
            lr = hr.resize((w // scale, h // scale), Image.BICUBIC)
            pairs.append((np.asarray(hr, np.float32) / 255, np.asarray(lr, np.float32) / 255))
    return pairs


def batch(pairs, scale, size, count, rng):
    xs, ys = [], []
    for _ in range(count):
        hr, lr = pairs[rng.randrange(len(pairs))]
        i = rng.randrange(lr.shape[0] - size)
        j = rng.randrange(lr.shape[1] - size)
        x = lr[i : i + size, j : j + size]
        y = hr[i * scale : (i + size) * scale, j * scale : (j + size) * scale]
        k = rng.randrange(8)  # flips and quarter turns
        if k & 1:
            x, y = x[:, ::-1], y[:, ::-1]
        if k & 2:
            x, y = x[::-1], y[::-1]
        if k & 4:
            x, y = x.transpose(1, 0, 2), y.transpose(1, 0, 2)
        xs.append(np.ascontiguousarray(x.transpose(2, 0, 1)))
        ys.append(np.ascontiguousarray(y.transpose(2, 0, 1)))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def luma(rgb):
    """ITU-R BT.601 Y on 0..255 from RGB 0..1 (the usual super-resolution convention)."""
    return 16 + 65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]


def psnr_y(a, b, border):
    ya, yb = luma(a)[border:-border, border:-border], luma(b)[border:-border, border:-border]
    return 10 * math.log10(255**2 / float(np.mean((ya - yb) ** 2)))


def evaluate(model, root, scale):
    rows = []
    for name in HELD_OUT:
        img = Image.open(os.path.join(root, PHOTO_DIR, name)).convert("RGB")
        w, h = int(img.width * EVAL_SIZE) // scale * scale, int(img.height * EVAL_SIZE) // scale * scale
        hr = img.resize((w, h), Image.BICUBIC)
        lr = hr.resize((w // scale, h // scale), Image.BICUBIC)
        bic = np.asarray(lr.resize((w, h), Image.BICUBIC), np.float32).transpose(2, 0, 1) / 255
        x = torch.from_numpy(np.asarray(lr, np.float32).transpose(2, 0, 1).copy() / 255)[None]
        with torch.no_grad():
            y = model(x)[0].clamp(0, 1).numpy()
        y = np.round(y * 255) / 255
        t = np.asarray(hr, np.float32).transpose(2, 0, 1) / 255
        rows.append((name, psnr_y(bic, t, scale), psnr_y(y, t, scale)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", required=True, help="DEST of scripts/fetch-photos.sh (mate-backgrounds)")
    ap.add_argument("--scale", type=int, choices=(2, 4), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--channels", type=int, default=24)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=40, help="low-resolution patch size")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    root = os.path.join(args.photos, "root")
    pairs = load_photos(root, HELD_IN, args.scale)
    model = SuperRes(args.scale, args.channels)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.05)
    start = time.time()
    for step in range(args.steps):
        x, y = batch(pairs, args.scale, args.patch, args.batch, rng)
        loss = F.l1_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.5f} {time.time() - start:.0f}s", flush=True)

    model.eval()
    for name, bic, ours in evaluate(model, root, args.scale):
        print(f"held-out {name}: bicubic {bic:.2f} dB, ours {ours:.2f} dB (luma, x{args.scale})")

    dummy = torch.rand(1, 3, 32, 48)
    torch.onnx.export(
        model,
        dummy,
        args.out,
        input_names=["image"],
        output_names=["upscaled"],
        dynamic_axes={"image": {2: "h", 3: "w"}, "upscaled": {2: "sh", 3: "sw"}},
        opset_version=17,
        do_constant_folding=True,
        dynamo=False,
    )
    import onnx

    m = onnx.load(args.out)
    for key, value in (("doppel.superres.scale", args.scale), ("doppel.superres.channels", args.channels)):
        entry = m.metadata_props.add()
        entry.key, entry.value = key, str(value)
    m.doc_string = "doppel superres x%d (scripts/train_superres.py)" % args.scale
    onnx.save(m, args.out)
    names = sorted(t.name for t in m.graph.initializer)
    print("initializers:", names)


if __name__ == "__main__":
    main()
