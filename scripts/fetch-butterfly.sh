#!/usr/bin/env bash
# Fetches Set5 "butterfly" (256x256 PNG, the usual super-resolution benchmark image) from OpenCV's
# samples in Debian's `opencv-doc` package (4.6.0+dfsg-12, a 96 MB download taking about 10 s here; only this one file is
# kept), into target/test-data/superres/butterfly.png (ignored by git). Licence: shipped by Debian
# in opencv-doc under the package's terms (usr/share/doc/opencv-doc/copyright: Apache-2.0 / BSD-3 for
# OpenCV); Set5 is a research benchmark (Bevilacqua et al., BMVC 2012).
# Idempotent: an existing file with the right sha256 is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_SUPERRES:-$root/target/test-data/superres}"
sum="1c50e61afddd60ebb3829d85187f4e46c9eb8fd8249237ddf0c8904a3286598d"
out="$dest/butterfly.png"
mkdir -p "$dest"
if [[ -f "$out" ]] && echo "$sum  $out" | sha256sum -c --status; then
  echo "butterfly.png already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q opencv-doc=4.6.0+dfsg-12 2>/dev/null || apt-get download -q opencv-doc)
member=./usr/share/doc/opencv-doc/examples/dnn_superres/butterfly.png
dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb | tar -x -C "$tmp" "$member"
if ! echo "$sum  $tmp/$member" | sha256sum -c --status; then
  echo "error: butterfly.png from opencv-doc does not have the expected sha256 $sum" >&2
  exit 1
fi
mv "$tmp/$member" "$out"
echo "butterfly.png ready: $out (opencv-doc)"
