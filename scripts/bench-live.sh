#!/usr/bin/env bash
# Live capture-to-display latency and drops of two doppel binaries, alternately in one run (the
# machine is noisy: compare the two columns of the same run). The window runs under Xvfb when there
# is no display.
#
#   scripts/bench-live.sh OLD_DOPPEL NEW_DOPPEL SOURCE STAGES [ROUNDS] [SECONDS] [-- EXTRA LIVE ARGS]
#   e.g. scripts/bench-live.sh /tmp/doppel-old target/release/doppel \
#          synthetic:width=1280:height=720:fps=30 track,avatar 3 10
set -euo pipefail
old=$1 new=$2 source=$3 stages=$4 rounds=${5:-3} seconds=${6:-10}
shift $(( $# < 6 ? $# : 6 ))
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
root="$(cd "$(dirname "$0")/.." && pwd)"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.ort/libonnxruntime.so}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() {
  if [[ -z "${DISPLAY:-}" ]]; then
    xvfb-run -a -s "-screen 0 1920x1080x24" "$@"
  else
    "$@"
  fi
}
for round in $(seq "$rounds"); do
  for which in old new; do
    bin=${!which}
    stats="$dir/$which-$round.json"
    (cd "$root" && run "$bin" live --source "$source" --stages "$stages" --seconds "$seconds" \
      --no-osd --stats-json "$stats" "${extra[@]}" >/dev/null 2>&1) || {
      echo "$which: run failed"
      continue
    }
    python3 - "$which" "$round" "$stats" <<'PY'
import json, sys
which, round_, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
d = r.get("display") or {}
lat = d.get("latency_ms") or r.get("latency_ms") or {}
nodes = ", ".join(
    f"{n['name'].split()[0]} {n.get('p50_ms', 0):.1f}" for n in r.get("nodes", [])[1:]
)
readbacks = sum(n.get("readbacks", 0) for n in r.get("nodes", []))
shown = d.get("presented", r.get("frames_out", 0))
print(
    f"{which} round {round_}: shown {shown} at {d.get('fps', 0):.1f} fps, dropped {d.get('dropped', '?')}, "
    f"capture-to-display p50 {lat.get('p50', 0):.1f} ms p99 {lat.get('p99', 0):.1f} ms, "
    f"readbacks/frame {readbacks / max(shown, 1):.2f}; stage p50 ms: {nodes}"
)
PY
  done
done
