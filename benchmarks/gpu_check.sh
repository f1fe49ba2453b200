#!/usr/bin/env bash
# GPU check for kernels/: the GPU test tier, then the Triton-vs-chunk benchmark (B=8 T=4096 H=8 D=64).
# Run on a CUDA machine from the repository root: bash benchmarks/gpu_check.sh
# Output goes to $OUT (if set) or benchmarks/results/gpu/, one log per step plus kernels_gpu.md.
set -uo pipefail
cd "$(dirname "$0")/.."
dest="${OUT:-benchmarks/results/gpu}"
mkdir -p "$dest"
# "0", not unset: tests/kernels/conftest.py does setdefault("TRITON_INTERPRET", "1").
export TRITON_INTERPRET=0  # real kernels, not the interpreter
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.cuda.get_device_name())" \
  2>&1 | tee "$dest/device.txt" || exit 1
nvidia-smi > "$dest/nvidia-smi.txt" 2>&1 || true
status=0
# Reference libraries carried as wheels (bash benchmarks/gpu_wheels.sh; the machine has no index).
if compgen -G ".gpu-wheels/*.whl" >/dev/null; then
  python -m pip install -q --no-deps --no-index .gpu-wheels/*.whl 2>&1 | tee "$dest/pip_wheels.txt" || status=1
fi
python -m pytest -q -m gpu tests/kernels 2>&1 | tee "$dest/pytest_gpu.txt" || status=1
python benchmarks/kernels.py --device cuda --mamba --mamba-batch 16 --out "$dest/kernels_gpu.md" 2>&1 \
  | tee "$dest/bench_gpu.txt" || status=1
# The same two ops with float32 dots in "ieee" (FMA, the setting before 2026-11-28), against which
# the "tf32x3" default was chosen from compile-time spill counts (benchmarks/results/kernels-gpu-resources.md).
SEQLAB_TRITON_F32_DOT=ieee python benchmarks/kernels.py --device cuda --ops delta_rule,gated_linear_attention \
  --out "$dest/kernels_gpu_ieee.md" 2>&1 | tee "$dest/bench_gpu_ieee.txt" || status=1
echo "gpu_check: exit status $status; results in $dest"
exit $status
