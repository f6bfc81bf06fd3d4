#!/usr/bin/env bash
# The hands figure: doppel's hand tracking (two hands, tracking mode) against Python MediaPipe Hands
# (mediapipe==0.10.21, model_complexity=1, max_num_hands=2, video mode) on the same frames, in one
# run: MediaPipe first, then the criterion bench, then the ratio of medians (time per frame).
#   scripts/fetch-test-faces.sh
#   python3 -m venv target/venv && target/venv/bin/pip install mediapipe==0.10.21
#   scripts/bench-hands.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-target/venv/bin/python}"
"$python" scripts/mediapipe_hands.py --speed 2>/dev/null | tail -n 1
cargo bench -p doppel-pipeline --bench hands -- --noplot "$@"
python3 - <<'PY'
import json, pathlib
mp = json.loads(pathlib.Path("target/hands-speed-mediapipe.json").read_text())["median_ms"]
base = pathlib.Path("target/criterion")
print(f"MediaPipe Hands (model_complexity=1): {mp:.2f} ms/frame")
for group in ("hands full 640x720", "hands lite 640x720"):
    for fn in ("tracking 1 threads", "tracking 2 threads"):
        est = base / group / fn / "new/estimates.json"
        if est.is_file():
            ms = json.loads(est.read_text())["median"]["point_estimate"] / 1e6
            print(f"doppel {group}, {fn}: {ms:.2f} ms/frame, ratio {ms / mp:.2f}")
PY
