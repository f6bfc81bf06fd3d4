#!/usr/bin/env bash
# Installs what doppel needs on Debian/Ubuntu (system packages, the ONNX Runtime library) and builds
# it in release mode. Safe to run again: it skips what is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Vulkan on the CPU (lavapipe) for machines without a GPU; FFmpeg libraries for video; clang for the
# camera and FFmpeg bindings; Xvfb and the X client libraries winit loads at run time for the live
# window (and its tests); Python for the ONNX Runtime fetch; dpkg-dev for the Debian package's
# dependencies (scripts/make-deb.sh).
packages=(
  libvulkan1 mesa-vulkan-drivers
  ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev
  libclang-dev clang pkg-config
  xvfb xauth
  libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0
  python3 python3-pip
  dpkg-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/fetch-onnxruntime.sh
cargo build --release --workspace
echo "doppel is built: target/release/doppel (try: target/release/doppel doctor)"
