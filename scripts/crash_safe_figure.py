#!/usr/bin/env python3
"""The crash-safe figure: `kill -9` in the middle of a 10 s recording (300 frames at 30 fps) with
--crash-safe, then frames ffprobe can decode / frames doppel had written (its progress bar, read
from a pseudo-terminal at the moment of the kill). Usage: scripts/crash_safe_figure.py [OUT.mp4]"""

import os
import pty
import re
import signal
import subprocess
import sys
import time

doppel = os.path.join(os.path.dirname(__file__), "..", "target", "release", "doppel")
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/doppel-crash-safe/rec.mp4"
ext = os.path.splitext(out)[1]
args = [doppel, "process", "synthetic:width=1280:height=720:fps=30:frames=300", "-o", out,
        "--crash-safe", "-y"]

pid, fd = pty.fork()
if pid == 0:
    os.execv(doppel, args)
seen, done = b"", 0
deadline = time.time() + 120
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    seen += chunk
    counts = re.findall(rb"(\d+)/300 frames", seen[-400:])
    if counts:
        done = int(counts[-1])
    if done >= 150:
        os.kill(pid, signal.SIGKILL)
        break
os.waitpid(pid, 0)
probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out],
                       capture_output=True, text=True)
readable = int(probe.stdout.strip().rstrip(",") or 0)
print(f"{ext}: killed with -9 at {done} frames shown done of 300; ffprobe decodes {readable}: "
      f"ratio {readable / max(done, 1):.3f}")
