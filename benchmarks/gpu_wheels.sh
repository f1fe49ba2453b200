#!/usr/bin/env bash
# Download the reference libraries' wheels (benchmarks/reference_libs.py) into .gpu-wheels/, on a
# machine that can reach the package index, so a device call can carry them to a GPU machine that
# cannot: run(carry=[".gpu-wheels"], command="bash benchmarks/gpu_check.sh").
# fla-core is pure Python over Triton (einops, its one dependency, is on the GPU image).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip download --no-deps --dest .gpu-wheels "fla-core==0.6.0"
ls -l .gpu-wheels
