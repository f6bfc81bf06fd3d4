#!/usr/bin/env bash
# Fetches the photos for the deglare/lowlight tests (and, with --train, for scripts/train_deglare.py)
# from Debian wallpaper packages into target/test-data/night-photos/ (ignored by git). Idempotent: a
# package already unpacked there is kept.
#
#   default  lomiri-wallpapers-16.04 (15.8 MB download, about 2 s here): 15 photos, CC-BY-4.0,
#            CC-BY-SA-4.0 and CC0-1.0 per file (see the package's debian/copyright). The tests use
#            sunset_by_Aitzol_Berasategi.jpg (sun with real glare and a flare ghost),
#            free_by_Peter_Nerlich.jpg (lamps with bloom), seeding_by_Clements_Engelhardt.jpg (sun
#            behind grass) as real photos with glare, and analogpattern_by_Peter_Nerlich.jpg and
#            friends_by_Aitzol_Berasategi.jpg as photos without bright lights.
#   --train  also mate-backgrounds (GPL-2+), plasma-workspace-wallpapers (LGPL-3 / CC-BY-SA per
#            file) and lomiri-wallpapers-20.04 (CC-BY-SA-3.0): about 150 MB more, for training only.
#
# Needs apt-get (Debian/Ubuntu) with package lists; runs `apt-get update` once if the first download
# fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DOPPEL_NIGHT_PHOTOS:-$root/target/test-data/night-photos}"
packages=(lomiri-wallpapers-16.04)
if [[ "${1:-}" == "--train" ]]; then
  packages+=(mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-20.04)
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
