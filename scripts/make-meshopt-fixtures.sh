#!/usr/bin/env bash
# Regenerates the EXT_meshopt_compression test files in pipeline/tests/fixtures/avatars/gltfpack/
# with gltfpack (npm package `gltfpack` 1.3.0, a registry package) and prints the FNV-1a hashes of
# every compressed buffer view as decoded by meshoptimizer's own decoder (npm `meshoptimizer`
# 1.3.0), the table `meshopt_decoding_matches_the_reference_decoder_byte_for_byte` in
# pipeline/tests/avatar_vrm.rs checks. Needs node and npm; CI does not run it (the files are
# committed).
set -euo pipefail
cd "$(dirname "$0")/.."
F=pipeline/tests/fixtures/avatars
NPM=target/npm
mkdir -p "$NPM" "$F/gltfpack"
npm install --prefix "$NPM" --no-audit --no-fund gltfpack@1.3.0 meshoptimizer@1.3.0 >/dev/null
PACK="$NPM/node_modules/.bin/gltfpack"
"$PACK" -i "$F/AnimatedMorphCube/AnimatedMorphCube.gltf" -o "$F/gltfpack/AnimatedMorphCube_meshopt.glb" -c
"$PACK" -i "$F/AnimatedMorphCube/AnimatedMorphCube.gltf" -o "$F/gltfpack/AnimatedMorphCube_meshopt_filters.glb" -cc
# gltfpack reads .glb, not .vrm: the same bytes under another name.
tmp=$(mktemp -d)
cp "$F/three-vrm_sphere.vrm" "$tmp/sphere.glb"
"$PACK" -i "$tmp/sphere.glb" -o "$F/gltfpack/three-vrm_sphere_meshopt.glb" -c -kn
rm -r "$tmp"
cat > "$NPM/fnv.mjs" <<'JS'
import { MeshoptDecoder } from './node_modules/meshoptimizer/index.js';
import fs from 'fs';
await MeshoptDecoder.ready;
const fnv = (a) => { let h = 0xcbf29ce484222325n; for (const x of a) { h ^= BigInt(x); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; } return '0x' + h.toString(16); };
for (const path of process.argv.slice(2)) {
  const b = fs.readFileSync(path);
  const jl = b.readUInt32LE(12);
  const j = JSON.parse(b.slice(20, 20 + jl).toString());
  const bin = b.slice(20 + jl + 8);
  j.bufferViews.forEach((v, i) => {
    const e = v.extensions && v.extensions.EXT_meshopt_compression;
    if (!e) return;
    const at = e.byteOffset || 0;
    const out = new Uint8Array(e.count * e.byteStride);
    MeshoptDecoder.decodeGltfBuffer(out, e.count, e.byteStride, new Uint8Array(bin.slice(at, at + e.byteLength)), e.mode, e.filter);
    console.log(`("${path.split('/').pop()}", ${i}, ${fnv(out)}),`);
  });
}
JS
(cd "$NPM" && node fnv.mjs "$OLDPWD/$F"/gltfpack/*.glb)
