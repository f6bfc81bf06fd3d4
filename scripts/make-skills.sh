#!/usr/bin/env bash
# Makes the skills shipped in assets/skills/ from frames of the bundled Big Buck Bunny clip
# (assets/bigbuckbunny.mp4, CC-BY-3.0, (c) Blender Foundation, www.bigbuckbunny.org). Each skill is the
# 100-value style vector of one frame or part of a frame (the cartoon's palette and shading), computed
# by doppel itself (`doppel skills add NAME --from PICTURE`, models/arbitrary_predict.onnx).
# Needs ffmpeg and a release build: cargo build --release.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${DOPPEL:-${CARGO_TARGET_DIR:-$root/target}/release/doppel}"
clip=assets/bigbuckbunny.mp4
dest=assets/skills
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name | seconds into the clip | ffmpeg crop (w:h:x:y of the 1280x720 frame) | note
skills=(
  "toon|1.0|1280:720:0:0|Big Buck Bunny (CC-BY-3.0, Blender Foundation), whole frame at 1.0 s: the cartoon look"
  "meadow|3.0|420:300:0:420|Big Buck Bunny (CC-BY-3.0, Blender Foundation), grass at 3.0 s: saturated greens, soft strokes"
  "dusk|1.0|400:260:880:0|Big Buck Bunny (CC-BY-3.0, Blender Foundation), sky and hills at 1.0 s: pastel pinks and blues"
)
mkdir -p "$dest"
for row in "${skills[@]}"; do
  IFS='|' read -r name at crop note <<<"$row"
  ffmpeg -v error -y -ss "$at" -i "$clip" -frames:v 1 -vf "crop=$crop" "$tmp/$name.png"
  # The frame's own colours under the style's strokes: these greens would otherwise tint faces.
  "$bin" skills add "$name" --from "$tmp/$name.png" --dir "$dest" --force --note "$note" --colors keep
  cp "$tmp/$name.png" "$tmp/keep-$name.png"
done
if [[ -n "${KEEP_FRAMES:-}" ]]; then
  mkdir -p "$KEEP_FRAMES" && cp "$tmp"/keep-*.png "$KEEP_FRAMES"/
fi
