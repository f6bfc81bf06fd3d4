#!/usr/bin/env bash
# Live `track,stylize` throughput and latency, two doppel binaries alternately in one run (the
# machine is noisy: read the ratio). Usage: scripts/bench-live-stylize.sh OLD_DOPPEL NEW_DOPPEL
# [ROUNDS] [FPS...]. Each run is 10 s of the synthetic 640x360 source at FPS (default 60 and 30)
# through `track` (the v1 mesh, named so that both builds track alike) and the toon skill at
# 144 px, `process --live` into the null sink; it prints frames out per second and the
# capture-to-output latency. EXTRA="..." adds options to the new build's stylize (e.g. workers=1).
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
rates=("${@:-60 30}")
read -r -a rates <<<"${rates[*]}"
stages="track:mesh=models/face_landmark.onnx,stylize:skill=toon:size=144"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for fps in "${rates[@]}"; do
  for round in $(seq "$rounds"); do
    for which in old new; do
      bin=${!which}
      s=$stages
      [ "$which" = new ] && [ -n "${EXTRA:-}" ] && s="$s:$EXTRA"
      stats="$dir/$which.json"
      rm -f "$stats"
      "$bin" process "synthetic:width=640:height=360:frames=$((fps * 10)):fps=$fps" --live \
        -o null --quiet --stages "$s" --stats-json "$stats" 2>/dev/null
      python3 - "$which" "$fps" "$stats" <<'PY'
import json, sys
which, fps, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
lat = r.get("latency_ms", {})
print(f"{fps} fps source, {which}: {r['frames_out'] / r['wall_s']:.1f} fps out, latency p50 "
      f"{lat.get('p50', float('nan')):.1f} ms, p99 {lat.get('p99', float('nan')):.1f} ms")
PY
    done
  done
done
