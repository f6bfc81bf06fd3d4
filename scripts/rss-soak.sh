#!/usr/bin/env bash
# Memory soak: runs a doppel command and samples its resident memory (VmRSS in /proc/PID/status)
# every INTERVAL seconds, then prints the samples, the RSS at start (the first sample after WARMUP
# seconds, once models and buffers are allocated) and at the end, and the growth between them.
#
#   scripts/rss-soak.sh [-i INTERVAL] [-w WARMUP] -- ARGS...        (ARGS are doppel's)
#
# The 1-hour-equivalent run of the closing note (108,000 frames = 1 h at 30 fps, as fast as it goes):
#   scripts/rss-soak.sh -- process synthetic:width=64:height=48:frames=108000 -o null --stages passthrough
# and headless live (paced at 240 fps: 7.5 minutes):
#   scripts/rss-soak.sh -- live --no-window --vmc 127.0.0.1:39539 \
#       --source synthetic:width=64:height=48:fps=240:frames=108000
set -euo pipefail
interval=2
warmup=4
while [[ $# -gt 0 ]]; do
    case "$1" in
        -i) interval="$2"; shift 2 ;;
        -w) warmup="$2"; shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-i INTERVAL] [-w WARMUP] -- DOPPEL_ARGS..." >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
doppel="${DOPPEL:-$root/target/release/doppel}"
[[ -x "$doppel" ]] || { echo "no $doppel: build with cargo build --release" >&2; exit 2; }

log="$(mktemp)"
"$doppel" "$@" 2>"$log" &
pid=$!
started=$(date +%s.%N)
samples=()
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true; }
printf '%8s %10s\n' "t (s)" "VmRSS kB"
while kill -0 "$pid" 2>/dev/null; do
    kb=$(rss)
    if [[ -n "$kb" ]]; then
        t=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
        printf '%8s %10s\n' "$t" "$kb"
        samples+=("$t $kb")
    fi
    sleep "$interval"
done
status=0
wait "$pid" || status=$?
tail -n 3 "$log"
rm -f "$log"
printf '%s\n' "${samples[@]}" | awk -v w="$warmup" -v st="$status" '
    $1 >= w && start == "" { start = $2; t0 = $1 }
    { last = $2; t1 = $1; if ($2 > max) max = $2 }
    END {
        if (start == "") { print "run too short for a sample after the warm-up"; exit }
        printf "exit %d; RSS start %d kB (t=%.1f s), end %d kB (t=%.1f s), max %d kB, growth %+d kB\n",
            st, start, t0, last, t1, max, last - start
    }'
exit "$status"
