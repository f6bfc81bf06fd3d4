#!/usr/bin/env python3
"""Writes assets/avatars/doppel-head.glb: a small glTF 2.0 avatar (a cartoon head on a neck and
shoulders) with face morph targets named after ARKit blendshapes, for doppel's tests and as a demo.

Plain Python + numpy; the output follows the glTF 2.0 spec (GLB container, one JSON and one BIN
chunk, 4-byte aligned, accessors with min/max for POSITION, morph target names in
mesh.extras.targetNames). Nodes: Avatar (root) -> Body (mesh), Neck -> Head (mesh with morphs).
Front faces +Z, +Y up, metres. Materials: textured lit skin (an embedded 64x64 PNG), lit hair and
shirt, unlit eyes (KHR_materials_unlit), lit mouth and brows.

Usage: python3 scripts/make-test-avatar.py [OUT.glb]
"""
import json
import struct
import sys
import zlib

import numpy as np

TARGETS = ["jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight",
           "browInnerUp"]
R = 0.1  # head radius


def sphere(rx, ry, rz, cy, rings=24, segs=32, y_min=-1.0):
    """A UV ellipsoid centred at (0, cy, 0); y_min (-1..1) cuts the bottom off."""
    pos, nrm, uv, idx = [], [], [], []
    for i in range(rings + 1):
        v = i / rings
        phi = np.pi * v  # 0 at the top
        y = np.cos(phi)
        if y < y_min:
            y = y_min
        s = np.sqrt(max(0.0, 1 - y * y))
        for j in range(segs + 1):
            u = j / segs
            th = 2 * np.pi * u
            x, z = s * np.sin(th), s * np.cos(th)
            pos.append([rx * x, cy + ry * y, rz * z])
            n = np.array([x / rx, y / ry, z / rz])
            nrm.append(n / (np.linalg.norm(n) + 1e-9))
            uv.append([u, v])
    for i in range(rings):
        for j in range(segs):
            a = i * (segs + 1) + j
            b = a + segs + 1
            idx += [a, b, a + 1, a + 1, b, b + 1]
    return np.array(pos, np.float32), np.array(nrm, np.float32), np.array(uv, np.float32), idx


def head_z(x, y):
    """Depth of the head's front surface at (x, y) (head centre at the Head node origin)."""
    return np.sqrt(np.maximum(R * R - x * x - y * y, 0.0)) * 1.0


def disc(cx, cy, rx, ry, lift, rings=4, segs=24):
    """A flat-looking ellipse lying on the head's front surface, `lift` in front of it."""
    pos, idx = [], []
    pos.append([cx, cy, head_z(cx, cy) + lift])
    for i in range(1, rings + 1):
        f = i / rings
        for j in range(segs):
            a = 2 * np.pi * j / segs
            x, y = cx + f * rx * np.cos(a), cy + f * ry * np.sin(a)
            pos.append([x, y, head_z(x, y) + lift])
    for j in range(segs):
        idx += [0, 1 + j, 1 + (j + 1) % segs]
    for i in range(1, rings):
        o0, o1 = 1 + (i - 1) * segs, 1 + i * segs
        for j in range(segs):
            k = (j + 1) % segs
            idx += [o0 + j, o1 + j, o1 + k, o0 + j, o1 + k, o0 + k]
    pos = np.array(pos, np.float32)
    nrm = np.tile(np.array([0, 0, 1], np.float32), (len(pos), 1))
    return pos, nrm, idx


def png(w, h, pixels):
    """A minimal RGB PNG (filter 0 on every row)."""
    raw = b"".join(b"\x00" + bytes(pixels[y].astype(np.uint8).tobytes()) for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def skin_texture():
    """Warm skin with soft freckle-free shading bands (sRGB), 64x64."""
    y, x = np.mgrid[0:64, 0:64] / 63.0
    base = np.array([250, 214, 186], np.float32)
    tint = 1.0 - 0.06 * np.cos(2 * np.pi * x) * np.sin(np.pi * y)
    return (base[None, None, :] * tint[..., None]).clip(0, 255)


class Builder:
    def __init__(self):
        self.bin = bytearray()
        self.views, self.accessors = [], []

    def _view(self, data, target=None):
        while len(self.bin) % 4:
            self.bin.append(0)
        view = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target:
            view["target"] = target
        self.bin += data
        self.views.append(view)
        return len(self.views) - 1

    def vec(self, arr, kind, minmax=False):
        arr = np.ascontiguousarray(arr, np.float32)
        acc = {"bufferView": self._view(arr.tobytes(), 34962), "componentType": 5126,
               "count": len(arr), "type": kind}
        if minmax:
            acc["min"] = arr.min(axis=0).tolist()
            acc["max"] = arr.max(axis=0).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def indices(self, idx):
        arr = np.array(idx, np.uint16)
        self.accessors.append({"bufferView": self._view(arr.tobytes(), 34963),
                               "componentType": 5123, "count": len(arr), "type": "SCALAR"})
        return len(self.accessors) - 1

    def image(self, data):
        return self._view(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "assets/avatars/doppel-head.glb"
    b = Builder()
    # Head primitives: (material, positions, normals, uvs or None, indices, {target: deltas}).
    prims = []

    pos, nrm, uv, idx = sphere(R, R * 1.08, R * 0.95, 0.0)
    chin = pos[:, 1] < -0.03  # a slightly narrower jaw
    pos[chin, 0] *= 1 - 2.0 * (-0.03 - pos[chin, 1])
    prims.append(("skin", pos, nrm, uv, idx, {}))

    hp, hn, huv, hi = sphere(R * 1.06, R * 1.1, R * 1.02, 0.012, y_min=0.15)
    hp[:, 2] -= 0.006
    prims.append(("hair", hp, hn, huv, hi, {}))

    for side, name in ((1, "eyeBlinkLeft"), (-1, "eyeBlinkRight")):
        # The person's left eye is at +x (the image's right when the avatar faces the camera).
        cx, cy = side * 0.036, 0.012
        for mat, rx, ry, lift in (("eye_white", 0.019, 0.022, 0.004),
                                  ("pupil", 0.009, 0.011, 0.006)):
            p, n, i = disc(cx, cy + (0.002 if mat == "pupil" else 0), rx, ry, lift)
            d = np.zeros_like(p)
            d[:, 1] = (cy - 0.004 - p[:, 1]) * 0.95  # lids meet a little below the centre
            prims.append((mat, p, n, None, i, {name: d}))
        # Brows.
        p, n, i = disc(side * 0.038, 0.045, 0.02, 0.0045, 0.004)
        d = np.zeros_like(p)
        inner = np.clip(1 - side * p[:, 0] / 0.06, 0, 1)
        d[:, 1] = 0.012 * inner
        prims.append(("brow", p, n, None, i, {"browInnerUp": d}))

    p, n, i = disc(0.0, -0.048, 0.03, 0.006, 0.004)
    jaw = np.zeros_like(p)
    below = p[:, 1] < -0.048
    jaw[below, 1] = (p[below, 1] + 0.048) * 4.0  # the lower lip drops
    smile_l, smile_r = np.zeros_like(p), np.zeros_like(p)
    for d, side in ((smile_l, 1), (smile_r, -1)):
        w = np.clip(side * p[:, 0] / 0.03, 0, 1) ** 2
        d[:, 1] = 0.012 * w
        d[:, 0] = side * 0.006 * w
    prims.append(("mouth", p, n, None, i, {"jawOpen": jaw, "mouthSmileLeft": smile_l,
                                           "mouthSmileRight": smile_r}))

    body_p, body_n, body_uv, body_i = sphere(0.2, 0.12, 0.1, -0.09, y_min=-0.2)
    neck_p, neck_n, neck_uv, neck_i = sphere(0.035, 0.07, 0.035, 0.03)

    materials = {
        "skin": {"pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                          "metallicFactor": 0.0, "roughnessFactor": 0.8}},
        "hair": {"pbrMetallicRoughness": {"baseColorFactor": [0.16, 0.07, 0.035, 1.0],
                                          "metallicFactor": 0.0, "roughnessFactor": 0.6}},
        "eye_white": {"pbrMetallicRoughness": {"baseColorFactor": [1.0, 1.0, 1.0, 1.0]},
                      "extensions": {"KHR_materials_unlit": {}}},
        "pupil": {"pbrMetallicRoughness": {"baseColorFactor": [0.02, 0.05, 0.12, 1.0]},
                  "extensions": {"KHR_materials_unlit": {}}},
        "brow": {"pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.04, 0.02, 1.0],
                                          "metallicFactor": 0.0}},
        "mouth": {"pbrMetallicRoughness": {"baseColorFactor": [0.45, 0.05, 0.06, 1.0],
                                           "metallicFactor": 0.0}},
        "shirt": {"pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.35, 0.75, 1.0],
                                           "metallicFactor": 0.0, "roughnessFactor": 0.9}},
    }
    names = list(materials)

    def primitive(mat, p, n, uv, i, deltas):
        prim = {"attributes": {"POSITION": b.vec(p, "VEC3", True), "NORMAL": b.vec(n, "VEC3")},
                "indices": b.indices(i), "material": names.index(mat)}
        if uv is not None:
            prim["attributes"]["TEXCOORD_0"] = b.vec(uv, "VEC2")
        if deltas is not None:
            # Targets that do not move this primitive share one accessor of zeros.
            zeros = None
            targets = []
            for t in TARGETS:
                if t in deltas:
                    targets.append({"POSITION": b.vec(deltas[t], "VEC3", True)})
                else:
                    if zeros is None:
                        zeros = b.vec(np.zeros_like(p), "VEC3", True)
                    targets.append({"POSITION": zeros})
            prim["targets"] = targets
        return prim

    head_mesh = {"name": "Head",
                 "primitives": [primitive(*pr) for pr in prims],
                 "weights": [0.0] * len(TARGETS),
                 "extras": {"targetNames": TARGETS}}
    body_mesh = {"name": "Body", "primitives": [
        primitive("shirt", body_p, body_n, body_uv, body_i, None),
        primitive("skin", neck_p, neck_n, neck_uv, neck_i, None)]}
    tex_view = b.image(png(64, 64, skin_texture()))

    doc = {
        "asset": {"version": "2.0", "generator": "doppel scripts/make-test-avatar.py"},
        "extensionsUsed": ["KHR_materials_unlit"],
        "scene": 0,
        "scenes": [{"name": "doppel-head", "nodes": [0]}],
        "nodes": [
            {"name": "Avatar", "children": [1, 2]},
            {"name": "Body", "mesh": 1, "translation": [0.0, 1.35, 0.0]},
            {"name": "Neck", "translation": [0.0, 1.42, 0.0], "children": [3]},
            {"name": "Head", "mesh": 0, "translation": [0.0, 0.11, 0.0]},
        ],
        "meshes": [head_mesh, body_mesh],
        "materials": [dict(name=k, **v) for k, v in materials.items()],
        "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9729, "wrapS": 10497, "wrapT": 10497}],
        "images": [{"bufferView": tex_view, "mimeType": "image/png"}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": 0}],
    }
    while len(b.bin) % 4:
        b.bin.append(0)
    doc["buffers"][0]["byteLength"] = len(b.bin)
    js = json.dumps(doc, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    total = 12 + 8 + len(js) + 8 + len(b.bin)
    with open(out, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(js), b"JSON") + js)
        f.write(struct.pack("<I4s", len(b.bin), b"BIN\x00") + bytes(b.bin))
    print(f"wrote {out} ({total} bytes, {len(TARGETS)} morph targets: {', '.join(TARGETS)})")


if __name__ == "__main__":
    main()
