#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from the PyPI `onnxruntime` wheel (a registry package, so it
# works offline-from-the-internet machines that reach PyPI) into .ort/, where .cargo/config.toml points
# ORT_DYLIB_PATH. Idempotent: does nothing when the library is already there with the right version.
#   scripts/fetch-onnxruntime.sh            # CPU build (default)
#   ORT_WHEEL=onnxruntime-gpu scripts/fetch-onnxruntime.sh   # CUDA-enabled build
#   ORT_EP=openvino scripts/fetch-onnxruntime.sh             # also the OpenVINO plugin provider
# ORT_EP=openvino adds the execution-provider plugin from PyPI `onnxruntime-ep-openvino` (the plugin
# library with the OpenVINO and TBB libraries it loads through its RPATH) into .ort/openvino/, where
# doppel looks for plugins (next to the loaded library, or in its <name>/ subfolder).
set -euo pipefail
version="${ORT_VERSION:-1.32.0}"
wheel="${ORT_WHEEL:-onnxruntime}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.ort"
lib="$dest/libonnxruntime.so"
stamp="$dest/VERSION"
fetch_openvino_plugin() {
  local ep_version="${ORT_EP_OPENVINO_VERSION:-1.8.1}" ep_dest="$dest/openvino"
  local ep_stamp="$ep_dest/VERSION" want="onnxruntime-ep-openvino==${ORT_EP_OPENVINO_VERSION:-1.8.1}"
  if [[ -f "$ep_stamp" && "$(cat "$ep_stamp")" == "$want" ]]; then
    echo "OpenVINO plugin $want already in $ep_dest"
    return
  fi
  local tmp_ep
  tmp_ep="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 311 "onnxruntime-ep-openvino==$ep_version" -d "$tmp_ep"
  mkdir -p "$ep_dest"
  python3 - "$(ls "$tmp_ep"/*.whl)" "$ep_dest" <<'PY'
import sys, zipfile, os, shutil
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.startswith("onnxruntime_ep_openvino/lib") and ".so" in n]
    if not any(os.path.basename(n) == "libonnxruntime_providers_openvino_plugin.so" for n in names):
        sys.exit(f"no libonnxruntime_providers_openvino_plugin.so inside {whl}")
    for n in names:
        with z.open(n) as src, open(os.path.join(dest, os.path.basename(n)), "wb") as dst:
            shutil.copyfileobj(src, dst)
print("extracted", len(names), "libraries into", dest)
PY
  rm -rf "$tmp_ep"
  echo "$want" > "$ep_stamp"
  echo "OpenVINO plugin $want ready: $ep_dest"
}
if [[ -f "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$wheel==$version" ]]; then
  echo "ONNX Runtime $wheel==$version already in $dest"
  [[ "${ORT_EP:-}" == openvino ]] && fetch_openvino_plugin
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
[[ "${ORT_EP:-}" == openvino ]] && fetch_openvino_plugin
exit 0
