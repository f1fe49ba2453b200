#!/usr/bin/env bash
# GPU check for kernels/, in priority order, each step time-boxed so one slow step (a long
# autotune, a hang) cannot eat a short lease; the steps together stay under a device call's
# 10-minute limit (at most 9 minutes). Run on a CUDA machine from the repository root:
#   bash benchmarks/gpu_check.sh
# Output goes to $OUT (if set) or benchmarks/results/gpu/: one log per step plus the tables.
#   1. Triton vs chunk timings, B=8 T=4096 H=8 D=64, with bandwidth and rel-RMS vs chunk (kernels_gpu.md)
#   2. the GPU test tier (pytest -m gpu tests/kernels)
#   3. fla's GLA and delta-rule kernels beside ours, when their wheel was carried in .gpu-wheels/
#      (bash benchmarks/gpu_wheels.sh; the GPU machine has no package index)
#   4. delta_rule and GLA again with float32 dots in "ieee" (the setting before 2026-11-28)
set -uo pipefail
cd "$(dirname "$0")/.."
dest="${OUT:-benchmarks/results/gpu}"
mkdir -p "$dest"
export PYTHONUNBUFFERED=1
# "0", not unset: tests/kernels/conftest.py does setdefault("TRITON_INTERPRET", "1").
export TRITON_INTERPRET=0  # real kernels, not the interpreter
python -c "import torch, triton; assert torch.cuda.is_available(), 'no CUDA'; print(torch.cuda.get_device_name(), torch.__version__, 'triton', triton.__version__)" \
  2>&1 | tee "$dest/device.txt" || exit 1
nvidia-smi > "$dest/nvidia-smi.txt" 2>&1 || true
status=0
step() {  # step SECONDS NAME COMMAND...: run with a time box, log to $dest/NAME.txt, remember failures
  local limit=$1 name=$2
  shift 2
  echo "== $name (at most ${limit} s)"
  timeout "$limit" "$@" 2>&1 | tee "$dest/$name.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "gpu_check: $name stopped at its ${limit} s time box" | tee -a "$dest/$name.txt"
  [ "$rc" = 0 ] || status=1
}
step 180 bench_gpu python benchmarks/kernels.py --device cuda --mamba --mamba-batch 16 --out "$dest/kernels_gpu.md"
step 150 pytest_gpu python -m pytest -q -m gpu tests/kernels
if compgen -G ".gpu-wheels/*.whl" >/dev/null; then
  python -m pip install -q --no-deps --no-index .gpu-wheels/*.whl 2>&1 | tee "$dest/pip_wheels.txt" || status=1
  step 120 bench_gpu_fla python benchmarks/kernels.py --device cuda --ops delta_rule,gated_linear_attention \
    --out "$dest/kernels_gpu_fla.md"
fi
# The "tf32x3" default was chosen from compile-time spill counts (benchmarks/results/kernels-gpu-resources.md).
SEQLAB_TRITON_F32_DOT=ieee step 90 bench_gpu_ieee python benchmarks/kernels.py --device cuda \
  --ops delta_rule,gated_linear_attention --out "$dest/kernels_gpu_ieee.md"
echo "gpu_check: exit status $status; results in $dest"
exit $status
