#!/usr/bin/env python3
"""Trains the learned `deglare` model (models/deglare.onnx) on synthetic night-glare pairs.

Data: photos from Debian wallpaper packages, fetched by `scripts/fetch-night-photos.sh --train` into
target/test-data/night-photos/. Each training pair is made on the fly, in linear light, at the
stage's working size (320 px on the long side):
  clean    = the photo at a random exposure (mostly night-dark, sometimes daylight) plus 0-6 small
             HDR light sources (street-lamp, LED, neon colours), clipped to 1 -- the ground truth;
  degraded = clean scene + glare of those lights: bloom (two Gaussians), veiling glare (a constant
             proportional to the light energy), starburst streaks (4/6/8 spikes) and flare ghosts
             mirrored through the image centre; same sensor noise on both.
A fifth of the lights are sun- or floodlight-sized (5-17 px radius, less intense), so that real
suns are in the training distribution. 30% of the pairs have no light at all (target = input).
The loss goes through the stage's glare mask (`glare_mask`: highlights spread by the glare PSF,
mirrored through the centre; the stage computes the same in Rust): out = x - mask * G, so the model
acts only where lights can have caused glare, and frames without bright lights pass through. The
halo (where glare was added) weighs 5x in the L1 loss.

Held-out split BY FILE (never used for training; see HELD_OUT / REAL_GLARE / NO_LIGHTS below):
  - held-out synthetic set: life_by_Aitzol_Berasategi.jpg (CC-BY-4.0), Wine_by_Jakkub_Mede.jpg
    (CC-BY-4.0), Dragonfly_by_Bolly.jpg (CC-BY-SA-4.0), all lomiri-wallpapers-16.04;
  - real photos with glare (tests): sunset_by_Aitzol_Berasategi.jpg, free_by_Peter_Nerlich.jpg,
    seeding_by_Clements_Engelhardt.jpg;
  - photos without bright lights (tests): analogpattern_by_Peter_Nerlich.jpg,
    friends_by_Aitzol_Berasategi.jpg.
Training uses the other photos of lomiri-wallpapers-16.04/20.04, mate-backgrounds (nature) and
plasma-workspace-wallpapers (photographic ones, listed in TRAIN_PLASMA).

Model: a small encoder-decoder (about 60 k parameters) that sees the frame and the frame rotated by
180 degrees at 1/8 scale (flare ghosts sit mirrored through the centre), plus a global-context
branch (veiling glare); it outputs a non-negative glare layer G (sRGB units) at the working size;
the stage upsamples G to the frame size and subtracts it. Input "image" [1,3,h,w] RGB 0..1 with h,
w multiples of 8; output "glare" [1,3,h,w].

Outputs: models/deglare.onnx, and with --fixtures the held-out pairs as PNGs in
pipeline/tests/fixtures/deglare/ (the Rust tests measure PSNR on them).

Usage: /work/pyenv-train/bin/python scripts/train_deglare.py [--minutes 14] [--fixtures] [--init OLD.onnx]
       [--hard SHARE]
(--hard: that share of the pairs are hard negatives, see HARD_NEGATIVES. Tried in session 8: 35%,
fine-tuned from the shipped model for 35 minutes of wall time at nice 19 on a loaded machine, 555
steps: on the real photos without glare it was cleaner (coffee 55 dB against 42.7, EveningGlow 82.6
against 42.2) but it removed no halo at all on the real glare photos (0.0% against 2.7..3.4%), so
it was not shipped. That run weighed "no change where the mask is on but no glare was added" on
every pair, so the faint tail of real glare counted as harm too; since session 9 that term applies
to the hard negatives only. Session 9, 15%, 30 minutes (9839 steps, quiet machine): cleaner still
(EveningGlow 67.2 dB, summer_1am 59.7, coffee 44.0 against 42.2 / 46.7 / 42.7 through the stage)
but halo removed on sunset / free / seeding 2.1 / 0.4 / 0.8% against 2.7 / 3.1 / 3.4%, below the
tests' 2.5%: not shipped either. On these photos glare around a large source and a clipped bright
texture look alike at 320 px.)
(--init: start from an earlier model's weights; the shipped one is a 15-minute run of the first
version of this script, fine-tuned 15 minutes by this one, see models/README.md.)
Runs on one CPU thread (torch.set_num_threads(1)); training stops after --minutes of wall time.
"""
import argparse
import glob
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DOPPEL_NIGHT_PHOTOS", os.path.join(ROOT, "target/test-data/night-photos"))
LOMIRI16 = "lomiri-wallpapers-16.04/usr/share/backgrounds"
HELD_OUT = ["life_by_Aitzol_Berasategi.jpg", "Wine_by_Jakkub_Mede.jpg", "Dragonfly_by_Bolly.jpg"]
REAL_GLARE = ["sunset_by_Aitzol_Berasategi.jpg", "free_by_Peter_Nerlich.jpg",
              "seeding_by_Clements_Engelhardt.jpg"]
NO_LIGHTS = ["analogpattern_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg"]
TRAIN_PLASMA = ["BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Path",
                "summer_1am", "Kite", "OneStandsOut"]
WORK = 320  # long side of the working size (the stage's default `size`)
# Hard negatives (issue 18: the model took a lit paper lantern and a white cup for glare): bright
# textured objects without glare, from scikit-image's wheel (`fetch-night-photos.sh --train`; none
# is a test photo). With --hard, a share of the pairs are these, or training photos, exposed so
# that their brightest textures reach the highlight threshold (the stage's glare mask switches on
# there) with no light added, or only one small light elsewhere: the target keeps the texture.
HARD_NEGATIVES = ["astronaut.png", "motorcycle_left.png", "motorcycle_right.png", "chelsea.png"]


def train_files():
    files = []
    for f in sorted(glob.glob(os.path.join(DATA, LOMIRI16, "*.jpg"))):
        if os.path.basename(f) not in HELD_OUT + REAL_GLARE + NO_LIGHTS:
            files.append(f)
    files += sorted(glob.glob(os.path.join(DATA, "lomiri-wallpapers-20.04/usr/share/backgrounds/Kleiber*.jpg")))
    files += sorted(glob.glob(os.path.join(DATA, "mate-backgrounds/usr/share/backgrounds/mate/nature/*.jpg")))
    for name in TRAIN_PLASMA:
        imgs = glob.glob(os.path.join(DATA, "plasma-workspace-wallpapers/usr/share/wallpapers", name,
                                      "contents/images/*x*.*"))
        if imgs:  # the largest rendition
            files.append(max(imgs, key=lambda p: int(os.path.basename(p).split("x")[0])))
    return files


def load(path, long_side):
    im = Image.open(path).convert("RGB")
    s = long_side / max(im.size)
    im = im.resize((max(8, round(im.size[0] * s)), max(8, round(im.size[1] * s))), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im, np.float32) / 255.0).permute(2, 0, 1)


def to_lin(x):
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def to_srgb(x):
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


# The glare mask the stage applies to the model's layer (pipeline/src/enhance/deglare.rs,
# `glare_mask`): highlights h (linear max channel above the sRGB threshold 0.95), spread by the
# shader method's PSF (half a Gaussian of sigma 2 px, half one of 12 px, radius 36, replicate
# borders), times MASK_GAIN, clipped to 1, and mirrored through the centre (flare ghosts). Glare
# can only be where this is above 0; training through it teaches the model what the stage deploys.
MASK_THRESHOLD = 0.95
MASK_GAIN = 200.0


def gauss_taps(sigma, r):
    i = torch.arange(-r, r + 1, dtype=torch.float64)
    v = torch.exp(-(i * i) / (2 * sigma * sigma))
    return v / v.sum()


def mask_psf():
    r = 36
    return (0.5 * gauss_taps(2.0, r) + 0.5 * gauss_taps(12.0, r)).float()


PSF_TAPS = mask_psf()


def glare_mask(x):
    """x [n,3,h,w] sRGB 0..1 -> mask [n,1,h,w] in 0..1."""
    t = to_lin(torch.tensor(MASK_THRESHOLD))
    h = ((to_lin(x).amax(dim=1, keepdim=True) - t) / (1 - t)).clamp(0, 1)
    r = PSF_TAPS.numel() // 2
    k = PSF_TAPS.to(x.dtype)
    p = F.conv2d(F.pad(h, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    p = F.conv2d(F.pad(p, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    m = (MASK_GAIN * p).clamp(0, 1)
    return torch.maximum(m, torch.flip(m, dims=[2, 3]))


COLOURS = torch.tensor([[1.0, 0.62, 0.25], [1.0, 0.95, 0.88], [0.82, 0.9, 1.0], [1.0, 0.3, 0.2],
                        [0.4, 1.0, 0.5], [1.0, 0.8, 0.55]])


def psf(h, w, unit, g):
    """One random glare point-spread function (bloom + streaks), centred, normalised per component."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32) - h // 2,
                            torch.arange(w, dtype=torch.float32) - w // 2, indexing="ij")
    r2 = xx ** 2 + yy ** 2
    s1 = (1.5 + 4 * torch.rand(1, generator=g).item()) * unit
    s2 = (8 + 30 * torch.rand(1, generator=g).item()) * unit
    g1 = torch.exp(-r2 / (2 * s1 ** 2)); g1 /= g1.sum()
    g2 = torch.exp(-r2 / (2 * s2 ** 2)); g2 /= g2.sum()
    a1 = 0.05 + 0.25 * torch.rand(1, generator=g).item()
    a2 = 0.05 + 0.35 * torch.rand(1, generator=g).item()
    k = a1 * g1 + a2 * g2
    if torch.rand(1, generator=g).item() < 0.6:  # starburst streaks
        n = [4, 6, 8][int(torch.randint(0, 3, (1,), generator=g))]
        rot = torch.rand(1, generator=g).item() * math.pi
        length = (10 + 50 * torch.rand(1, generator=g).item()) * unit
        st = torch.zeros(h, w)
        for i in range(n):
            th = rot + i * 2 * math.pi / n
            along = xx * math.cos(th) + yy * math.sin(th)
            perp = -xx * math.sin(th) + yy * math.cos(th)
            st += torch.exp(-along.clamp_min(0) / length) * torch.exp(-perp ** 2 / (2 * (0.6 * unit) ** 2)) * (along >= 0)
        k = k + (0.02 + 0.08 * torch.rand(1, generator=g).item()) * st / st.sum()
    return k


def synth(clean_srgb, g, unit, lights=None, suns=True, bright=False):
    """Makes one (degraded, clean) pair in sRGB from a clean photo [3,h,w]. `suns=False` draws the
    random stream of the first version (the committed held-out fixtures). `bright`: a hard
    negative, exposed so that the brightest 0.5% of the photo lands at 1.0..1.8 (clipped highlights
    with texture around them)."""
    _, h, w = clean_srgb.shape
    lin = to_lin(clean_srgb)
    u = torch.rand(1, generator=g).item()
    exposure = 0.03 + 0.3 * torch.rand(1, generator=g).item() if u < 0.7 else 0.35 + 0.65 * torch.rand(1, generator=g).item()
    if bright:
        top = torch.quantile(lin.amax(dim=0).flatten()[::7], 0.995).clamp_min(0.05).item()
        exposure = (1.0 + 0.8 * torch.rand(1, generator=g).item()) / top
    tint = 1 + 0.15 * (torch.rand(3, 1, 1, generator=g) - 0.5)
    scene = lin * exposure * tint
    if lights is None:
        lights = 0 if torch.rand(1, generator=g).item() < 0.3 else int(torch.randint(1, 7, (1,), generator=g))
    emis = torch.zeros(3, h, w)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    centres = []
    for _ in range(lights):
        cy = (0.05 + 0.75 * torch.rand(1, generator=g).item()) * h
        cx = (0.03 + 0.94 * torch.rand(1, generator=g).item()) * w
        rad = (0.6 + 3.5 * torch.rand(1, generator=g).item()) * unit
        col = COLOURS[int(torch.randint(0, len(COLOURS), (1,), generator=g))]
        inten = 2 + 30 * torch.rand(1, generator=g).item() ** 2
        if suns and torch.rand(1, generator=g).item() < 0.2:  # a sun or a floodlight: large, less intense
            rad = (5 + 12 * torch.rand(1, generator=g).item()) * unit
            inten = 1.5 + 6 * torch.rand(1, generator=g).item()
        disk = torch.sigmoid((rad - torch.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)) * 2 / unit)
        emis += col.view(3, 1, 1) * inten * disk
        centres.append((cy, cx, rad, col, inten))
    scene = scene + emis
    glare = torch.zeros(3, h, w)
    if lights:
        k = psf(h, w, unit, g)
        kf = torch.fft.rfft2(torch.fft.ifftshift(k))
        glare = torch.fft.irfft2(torch.fft.rfft2(emis) * kf, s=(h, w)).clamp_min(0)
        # veiling glare: light scattered evenly over the frame
        glare += (0.001 + 0.004 * torch.rand(1, generator=g).item()) * emis.mean(dim=(1, 2), keepdim=True) * 30
        # flare ghosts: soft discs on the line through the light and the image centre, mirrored
        for (cy, cx, rad, col, inten) in centres:
            for _ in range(int(torch.randint(0, 4, (1,), generator=g))):
                t = -0.3 - 1.1 * torch.rand(1, generator=g).item()
                gy, gx = h / 2 + t * (cy - h / 2), w / 2 + t * (cx - w / 2)
                gr = (3 + 15 * torch.rand(1, generator=g).item()) * unit
                tint_g = col * (0.6 + 0.8 * torch.rand(3, generator=g))
                d = torch.sqrt((xx - gx) ** 2 + (yy - gy) ** 2)
                disc = torch.sigmoid((gr - d) / unit) * (0.5 + 0.5 * (d / gr).clamp(0, 1) ** 2)
                glare += tint_g.view(3, 1, 1) * disc * inten * rad ** 2 * (0.0004 + 0.002 * torch.rand(1, generator=g).item()) / unit ** 2
    noise = torch.randn(3, h, w, generator=g) * (0.008 * torch.rand(1, generator=g).item())
    clean = (to_srgb(scene) + noise).clamp(0, 1)
    degraded = (to_srgb(scene + glare) + noise).clamp(0, 1)
    return degraded, clean


def conv(cin, cout, stride=1, dil=1):
    return nn.Conv2d(cin, cout, 3, stride, padding=dil, dilation=dil)


class DeglareNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1 = conv(3, 16, 2)
        self.d2 = conv(16, 32, 2)
        self.d3 = conv(32, 32, 2)
        self.c1 = conv(64, 32, 1, 2)
        self.c2 = conv(32, 32, 1, 4)
        self.glob = nn.Conv2d(32, 32, 1)
        self.u2 = conv(64, 32)
        self.u1 = conv(48, 16)
        self.out = conv(16, 3)

    def forward(self, x):
        d1 = F.relu(self.d1(x))
        d2 = F.relu(self.d2(d1))
        d3 = F.relu(self.d3(d2))
        c = F.relu(self.c1(torch.cat([d3, torch.flip(d3, dims=[2, 3])], 1)))
        c = F.relu(self.c2(c) + self.glob(c.mean(dim=(2, 3), keepdim=True)))
        u2 = F.relu(self.u2(torch.cat([F.interpolate(c, scale_factor=2.0, mode="bilinear"), d2], 1)))
        u1 = F.relu(self.u1(torch.cat([F.interpolate(u2, scale_factor=2.0, mode="bilinear"), d1], 1)))
        # glare is smooth: estimated at half the working size, upsampled
        g = F.interpolate(F.relu(self.out(u1)), scale_factor=2.0, mode="bilinear")
        # light cores (any channel above 0.9) are kept: the glare layer fades to 0 there
        core = ((x.amax(dim=1, keepdim=True) - 0.9) / 0.1).clamp(0, 1)
        return g * (1 - core)


def psnr(a, b):
    return 10 * math.log10(1 / max(F.mse_loss(a, b).item(), 1e-12))


def heldout_pairs(size=(384, 216), per_file=2, seed=1234):
    """Deterministic held-out pairs (degraded, clean) at `size`, one or more per held-out file."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for name in HELD_OUT:
        im = Image.open(os.path.join(DATA, LOMIRI16, name))
        cover = max(size[0] / im.size[0], size[1] / im.size[1]) * 1.4  # both sides larger than size
        img = load(os.path.join(DATA, LOMIRI16, name), max(im.size) * cover)
        for k in range(per_file):
            _, h, w = img.shape
            y0 = int(torch.randint(0, h - size[1] + 1, (1,), generator=g))
            x0 = int(torch.randint(0, w - size[0] + 1, (1,), generator=g))
            crop = img[:, y0:y0 + size[1], x0:x0 + size[0]]
            pairs.append((name, k, *synth(crop, g, max(size) / WORK, lights=int(torch.randint(2, 6, (1,), generator=g)), suns=False)))
    return pairs


def save_png(t, path):
    Image.fromarray((t.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=14.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--fixtures", action="store_true", help="write the held-out pairs as test fixtures")
    ap.add_argument("--out", default=os.path.join(ROOT, "models/deglare.onnx"))
    ap.add_argument("--init", help="start from the weights of an earlier deglare.onnx (fine-tuning)")
    ap.add_argument("--hard", type=float, default=0.0,
                    help="share of hard-negative pairs (bright textured objects, see HARD_NEGATIVES)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    files = train_files()
    if len(files) < 10:
        sys.exit(f"only {len(files)} training photos under {DATA}: run scripts/fetch-night-photos.sh --train")
    print(f"{len(files)} training photos; held out: {HELD_OUT + REAL_GLARE + NO_LIGHTS}")
    photos = [load(f, WORK * 1.5) for f in files]
    negatives = [load(os.path.join(DATA, "skimage-data", n), WORK * 1.5) for n in HARD_NEGATIVES
                 if os.path.isfile(os.path.join(DATA, "skimage-data", n))]
    if args.hard > 0 and len(negatives) < len(HARD_NEGATIVES):
        sys.exit(f"hard negatives missing under {DATA}/skimage-data: run scripts/fetch-night-photos.sh --train")
    held = heldout_pairs()
    if args.fixtures:
        fx = os.path.join(ROOT, "pipeline/tests/fixtures/deglare")
        os.makedirs(fx, exist_ok=True)
        for name, k, deg, cl in held:
            stem = f"{name.split('_by_')[0].lower()}_{k}"
            save_png(deg, os.path.join(fx, f"{stem}_glare.png"))
            save_png(cl, os.path.join(fx, f"{stem}_clean.png"))
        print(f"wrote {len(held)} held-out pairs to {fx}")

    net = DeglareNet()
    if args.init:
        import onnx
        from onnx import numpy_helper
        weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                   for i in onnx.load(args.init).graph.initializer}
        net.load_state_dict({k: weights[k] for k in net.state_dict()})
        print(f"starting from {args.init}")
    print("parameters:", sum(p.numel() for p in net.parameters()))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    hw = (128, 224)  # crops of frames at the working scale (ghosts mirror through the crop centre)

    def sample():
        hard = torch.rand(1, generator=g).item() < args.hard
        pick = negatives if hard and torch.rand(1, generator=g).item() < 0.5 else photos
        img = pick[int(torch.randint(0, len(pick), (1,), generator=g))]
        s = 0.6 + 0.4 * torch.rand(1, generator=g).item()  # random zoom around the working scale
        img = F.interpolate(img[None], scale_factor=s, mode="bilinear", align_corners=False)[0]
        _, h, w = img.shape
        if h < hw[0] or w < hw[1]:
            img = F.interpolate(img[None], size=(max(h, hw[0]), max(w, hw[1])), mode="bilinear")[0]
            _, h, w = img.shape
        y0 = int(torch.randint(0, h - hw[0] + 1, (1,), generator=g))
        x0 = int(torch.randint(0, w - hw[1] + 1, (1,), generator=g))
        crop = img[:, y0:y0 + hw[0], x0:x0 + hw[1]]
        if torch.rand(1, generator=g).item() < 0.5:
            crop = torch.flip(crop, dims=[2])
        if hard:
            lights = 0 if torch.rand(1, generator=g).item() < 0.6 else 1
            return (*synth(crop, g, 1.0, lights=lights, bright=True), 1.0)
        return (*synth(crop, g, 1.0), 0.0)

    # a pool of pairs, two of them renewed per step, so that making data does not dominate
    pool = [sample() for _ in range(300)]
    t0 = time.time()
    budget = args.minutes * 60
    step = 0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for pg in opt.param_groups:
            pg["lr"] = 2e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for _ in range(2):
            pool[int(torch.randint(0, len(pool), (1,), generator=g))] = sample()
        idx = torch.randint(0, len(pool), (args.batch,), generator=g)
        xs = [pool[i][0] for i in idx]
        ys = [pool[i][1] for i in idx]
        x = torch.stack(xs); y = torch.stack(ys)
        mask = glare_mask(x)
        out = (x - mask * net(x)).clamp(0, 1)
        # the halo (where glare was added) weighs 5x: it is small next to the rest of the frame
        halo = (x - y > 0.01).float()
        loss = F.l1_loss(out, y) + 4 * (halo * (out - y).abs()).sum() / halo.sum().clamp_min(1)
        if args.hard > 0:
            # on the hard negatives, where the mask is on but no glare was added (textures next
            # to highlights), any change is harm: it weighs 5x too. Only there: on the glare pairs
            # the faint tail of the glare lies outside `halo` too, and penalising its removal
            # (session 8) taught the model to remove nothing.
            hard = torch.tensor([pool[i][2] for i in idx]).view(-1, 1, 1, 1)
            clear = (mask > 0).float() * (1 - halo.amax(dim=1, keepdim=True)) * hard
            loss = loss + 4 * (clear * (out - y).abs()).sum() / (3 * clear.sum()).clamp_min(1)
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} {time.time() - t0:.0f}s loss {loss.item():.4f}", flush=True)

    net.eval()
    with torch.no_grad():
        before, after = [], []
        for name, k, deg, cl in held:
            h8, w8 = deg.shape[1] // 8 * 8, deg.shape[2] // 8 * 8
            d8, c8 = deg[:, :h8, :w8][None], cl[:, :h8, :w8][None]
            o = (d8 - glare_mask(d8) * net(d8)).clamp(0, 1)
            before.append(psnr(d8, c8)); after.append(psnr(o, c8))
        print(f"held-out synthetic PSNR: input {np.mean(before):.2f} dB -> deglared {np.mean(after):.2f} dB "
              f"({', '.join(f'{a:.1f}->{b:.1f}' for a, b in zip(before, after))})")
    x = torch.rand(1, 3, 184, 320)
    torch.onnx.export(net, (x,), args.out, input_names=["image"], output_names=["glare"],
                      dynamic_axes={"image": {2: "h", 3: "w"}, "glare": {2: "h", 3: "w"}},
                      opset_version=17, dynamo=False)
    import onnxruntime as ort
    sess = ort.InferenceSession(args.out)
    with torch.no_grad():
        ref = net(x).numpy()
    diff = np.abs(sess.run(None, {"image": x.numpy()})[0] - ref).max()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) after {step} steps; torch vs onnxruntime max diff {diff:.2e}")


if __name__ == "__main__":
    main()
