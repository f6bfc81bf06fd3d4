#!/usr/bin/env bash
# Throughput of a chain of GPU stages, two doppel binaries alternately in one run (the machine is
# noisy: read the ratio). Usage: scripts/bench-gpu-chain.sh OLD_DOPPEL NEW_DOPPEL [ROUNDS] [FRAMES]
# Each run processes a 1280x720 clip through lowlight, deglare and blur on the GPU into a Matroska
# file (a sink that reads pixels on the CPU), and prints fps and transfers per frame. The clip is the
# synthetic source (well exposed: `lowlight` leaves it as it is), or SOURCE=FILE, e.g. a dark one
# where `lowlight` works:
#   ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -t 2 -vf lutyuv=y=val*0.18 -crf 12 dark.mp4
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} frames=${4:-60}
stages=lowlight:backend=gpu,deglare:backend=gpu,blur:backend=gpu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for round in $(seq "$rounds"); do
  for which in old new; do
    bin=${!which}
    out="$dir/$which-$round.mkv"
    stats="$dir/$which-$round.json"
    "$bin" process "${SOURCE:-synthetic:width=1280:height=720:frames=$frames}" -o "$out" --quiet \
      --stages "$stages" --stats-json "$stats" 2>/dev/null
    python3 - "$which" "$stats" <<'PY'
import json, sys
which, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
n = r["frames_out"]
up = sum(x.get("uploads", 0) for x in r["nodes"])
back = sum(x.get("readbacks", 0) for x in r["nodes"])
ups = "n/a" if "uploads" not in r["nodes"][0] else f"{up / n:.2f}"
backs = "n/a" if "readbacks" not in r["nodes"][0] else f"{back / n:.2f}"
print(f"{which}: {n} frames in {r['wall_s']:.2f} s = {n / r['wall_s']:.2f} fps; uploads/frame {ups}, readbacks/frame {backs}")
PY
  done
done
