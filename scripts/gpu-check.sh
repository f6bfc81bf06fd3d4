#!/usr/bin/env bash
# One run on a machine with a real GPU (runs on CPU-only machines too, with the GPU columns marked):
# installs what it needs, runs `doppel doctor`, then times every stage that matters through
# `doppel process --stats-json` (per-stage p50 ms/frame, from doppel's own statistics) on
#   - ONNX Runtime providers: cpu vs cuda vs tensorrt (the onnxruntime-gpu wheel's library, with CUDA 12
#     and cuDNN 9 from their PyPI wheels), or openvino where there is no NVIDIA GPU;
#   - wgpu: the real GPU's Vulkan driver vs lavapipe (Mesa's CPU Vulkan) for the GPU stages;
#   - live latency headless (`doppel live --no-window`, capture-to-output p50/p99);
# and writes one Markdown table to target/gpu-check/table.md (plus the raw JSON beside it).
#   scripts/gpu-check.sh                 # FRAMES=60 by default
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/target/gpu-check"
mkdir -p "$out"
frames="${FRAMES:-60}"
clip="$root/assets/bigbuckbunny.mp4"
log="$out/log.txt"
: >"$log"
say() { echo "$*" | tee -a "$log"; }

# --- what is here -------------------------------------------------------------------------------
gpu_name=""
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  gpu_name="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
  say "GPU: $gpu_name"
else
  say "no NVIDIA GPU (nvidia-smi absent or finds none): CUDA/TensorRT and GPU-Vulkan columns are skipped"
fi

scripts/fetch-onnxruntime.sh >/dev/null
ORT_EP=openvino scripts/fetch-onnxruntime.sh >/dev/null || say "OpenVINO plugin: fetch failed"
cargo build --release -p doppel >>"$log" 2>&1 || { say "build failed, see $log"; exit 1; }
doppel="$root/target/release/doppel"

providers=(cpu)
gpu_ort=""
if [[ -n "$gpu_name" ]]; then
  # onnxruntime-gpu's library in its own folder, CUDA/cuDNN/TensorRT libraries from PyPI in a venv.
  gpu_ort="$root/target/ort-gpu"
  if [[ ! -f "$gpu_ort/lib/libonnxruntime.so" ]]; then
    tmp="$(mktemp -d)"
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
      --python-version 311 "onnxruntime-gpu==${ORT_VERSION:-1.32.0}" -d "$tmp" >>"$log" 2>&1
    mkdir -p "$gpu_ort/lib"
    python3 - "$(ls "$tmp"/*.whl)" "$gpu_ort/lib" <<'PY'
import sys, zipfile, os, shutil
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("onnxruntime/capi/lib") and ".so" in n:
            with z.open(n) as s, open(os.path.join(dest, os.path.basename(n)), "wb") as d:
                shutil.copyfileobj(s, d)
main = [f for f in os.listdir(dest) if f.startswith("libonnxruntime.so.")][0]
os.symlink(main, os.path.join(dest, "libonnxruntime.so"))
PY
    rm -rf "$tmp"
  fi
  if [[ ! -d "$gpu_ort/venv" ]]; then
    python3 -m venv "$gpu_ort/venv" >>"$log" 2>&1
    "$gpu_ort/venv/bin/pip" install -q nvidia-cuda-runtime-cu12 nvidia-cublas-cu12 nvidia-cudnn-cu12 \
      nvidia-cufft-cu12 nvidia-curand-cu12 nvidia-cuda-nvrtc-cu12 tensorrt-cu12-libs >>"$log" 2>&1 ||
      say "some CUDA/TensorRT wheels did not install (see $log)"
  fi
  libs="$(find "$gpu_ort/venv" -name 'lib*.so*' -printf '%h\n' | sort -u | tr '\n' ':')"
  export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}"
  providers+=(cuda tensorrt)
else
  providers+=(openvino)
fi

# wgpu: the real GPU's Vulkan ICD (NVIDIA's, written from the driver's library if the driver did not
# install a manifest) vs lavapipe.
lvp="$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -1)"
nv_icd="$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)"
if [[ -n "$gpu_name" && -z "$nv_icd" ]]; then
  glx="$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')"
  if [[ -n "$glx" ]]; then
    nv_icd="$out/nvidia_icd.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$glx" >"$nv_icd"
  fi
fi
vulkans=()
[[ -n "$gpu_name" && -n "$nv_icd" ]] && vulkans+=("gpu:$nv_icd")
[[ -n "$lvp" ]] && vulkans+=("lavapipe:$lvp")
((${#vulkans[@]})) || vulkans+=("default:")

say "--- doctor"
if [[ -n "$gpu_ort" ]]; then
  ORT_DYLIB_PATH="$gpu_ort/lib/libonnxruntime.so" "$doppel" doctor 2>&1 | tee -a "$log"
else
  "$doppel" doctor 2>&1 | tee -a "$log"
fi

# --- runs -----------------------------------------------------------------------------------------
rows="$out/rows.tsv"
: >"$rows"
# run LABEL BACKEND STAGE-OF-INTEREST ENV... -- doppel args
run() {
  local label="$1" column="$2" stage="$3"
  shift 3
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  local json="$out/$(echo "$label-$column" | tr -c 'a-zA-Z0-9-' _).json"
  if env "${envs[@]}" "$doppel" "$@" --stats-json "$json" -y >>"$log" 2>&1; then
    python3 - "$json" "$stage" "$label" "$column" >>"$rows" <<'PY'
import json, sys
path, stage, label, column = sys.argv[1:]
d = json.load(open(path))
if stage == "latency":
    l = d["latency_ms"]
    print(f"{label}\t{column}\t{l['p50']:.1f} / {l['p99']:.1f}")
else:
    node = next(n for n in d["nodes"] if n["name"] == stage)
    print(f"{label}\t{column}\t{node['p50_ms']:.2f}")
PY
  else
    printf '%s\t%s\tfailed (see log)\n' "$label" "$column" >>"$rows"
    say "$label on $column failed: $(tail -n 3 "$log" | tr '\n' ' ')"
  fi
}

process=(process "$clip" -o null -q)
trim="resize:width=640"
for p in "${providers[@]}"; do
  ortenv=()
  [[ -n "$gpu_ort" ]] && ortenv+=("ORT_DYLIB_PATH=$gpu_ort/lib/libonnxruntime.so")
  ((${#ortenv[@]})) || ortenv+=("DOPPEL_GPU_CHECK=1")
  run "track (mesh v2 + blendshapes)" "$p" track "${ortenv[@]}" -- "${process[@]}" --provider "$p" --stages "$trim,track"
  run "stylize 640x360" "$p" stylize "${ortenv[@]}" -- "${process[@]}" --provider "$p" --stages "$trim,stylize:style=3"
  run "superres x2 onnx" "$p" superres "${ortenv[@]}" -- "${process[@]}" --provider "$p" --stages "resize:width=320,superres:scale=2:backend=onnx"
  run "deglare onnx" "$p" deglare "${ortenv[@]}" -- "${process[@]}" --provider "$p" --stages "$trim,deglare:backend=onnx"
done
for v in "${vulkans[@]}"; do
  name="${v%%:*}" icd="${v#*:}"
  venv=("DOPPEL_GPU_CHECK=1")
  [[ -n "$icd" ]] && venv=("VK_ICD_FILENAMES=$icd" "VK_DRIVER_FILES=$icd")
  run "superres x2 gpu twin" "wgpu $name" superres "${venv[@]}" -- "${process[@]}" --stages "resize:width=320,superres:scale=2:backend=gpu"
  run "deglare gpu" "wgpu $name" deglare "${venv[@]}" -- "${process[@]}" --stages "$trim,deglare:backend=gpu"
  run "lowlight gpu" "wgpu $name" lowlight "${venv[@]}" -- "${process[@]}" --stages "$trim,lowlight:backend=gpu"
  run "avatar render" "wgpu $name" avatar "${venv[@]}" -- "${process[@]}" --stages "$trim,track,avatar"
  run "live latency p50 / p99 ms" "wgpu $name" latency "${venv[@]}" -- live --source "$clip" --no-window \
    --frames "$frames" --vmc 127.0.0.1:39539 --stages track,avatar
done
run "deglare cpu" "cpu reference" deglare DOPPEL_GPU_CHECK=1 -- "${process[@]}" --stages "$trim,deglare:backend=cpu"
run "lowlight cpu" "cpu reference" lowlight DOPPEL_GPU_CHECK=1 -- "${process[@]}" --stages "$trim,lowlight:backend=cpu"

# --- one table: a row per measurement, a column per provider / Vulkan driver -----------------------
python3 - "$rows" "${gpu_name:-no NVIDIA GPU}" "$(nproc)" >"$out/table.md" <<'PY'
import sys, collections
rows, gpu, cores = sys.argv[1], sys.argv[2], sys.argv[3]
table, columns = collections.OrderedDict(), []
for line in open(rows):
    label, column, value = line.rstrip("\n").split("\t")
    table.setdefault(label, {})[column] = value
    if column not in columns:
        columns.append(column)
print(f"doppel gpu-check: {gpu}, {cores} CPU cores; p50 ms/frame per stage (doppel's statistics)")
print()
print("| stage | " + " | ".join(columns) + " |")
print("|---|" + "---|" * len(columns))
for label, cells in table.items():
    print(f"| {label} | " + " | ".join(cells.get(c, "") for c in columns) + " |")
PY
cat "$out/table.md"
say "table: $out/table.md (log: $log)"
