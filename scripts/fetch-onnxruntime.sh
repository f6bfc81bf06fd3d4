#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from the PyPI `onnxruntime` wheel (a registry package, so it
# works offline-from-the-internet machines that reach PyPI) into .ort/, where .cargo/config.toml points
# ORT_DYLIB_PATH. Idempotent: does nothing when the library is already there with the right version.
#   scripts/fetch-onnxruntime.sh            # CPU build (default)
#   ORT_WHEEL=onnxruntime-gpu scripts/fetch-onnxruntime.sh   # CUDA-enabled build
set -euo pipefail
version="${ORT_VERSION:-1.32.0}"
wheel="${ORT_WHEEL:-onnxruntime}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.ort"
lib="$dest/libonnxruntime.so"
stamp="$dest/VERSION"
if [[ -f "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$wheel==$version" ]]; then
  echo "ONNX Runtime $wheel==$version already in $dest"
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 311 "$wheel==$version" -d "$tmp"
whl="$(ls "$tmp"/*.whl)"
python3 - "$whl" "$dest" <<'PY'
import sys, zipfile, os, shutil
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.startswith("onnxruntime/capi/lib") and ".so" in n]
    if not names:
        sys.exit(f"no libonnxruntime*.so inside {whl}")
    for n in names:
        out = os.path.join(dest, os.path.basename(n))
        with z.open(n) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        print("extracted", out)
main = [n for n in names if os.path.basename(n).startswith("libonnxruntime.so.")]
if not main:
    sys.exit(f"no libonnxruntime.so.<version> inside {whl}")
link = os.path.join(dest, "libonnxruntime.so")
if os.path.lexists(link):
    os.remove(link)
os.symlink(os.path.basename(main[0]), link)
PY
echo "$wheel==$version" > "$stamp"
echo "ONNX Runtime $wheel==$version ready: $lib"
