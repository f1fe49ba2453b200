"""Benchmark every op under kernels/: forward+backward time and peak memory per backend.

Each op folder with a ``bench.py`` is driven the same way: ``bench.make_inputs(B, T, H, D)``
gives the keyword arguments, ``naive_<op>`` / ``chunk_<op>`` / ``triton_<op>`` from the op's
package (and ``cpp_<op>`` where there is one) are called with them, and the loss is a fixed random projection of the first output.

CPU (default): chunk (and cpp, the compiled kernel, for ops that have one) vs naive, B=2 H=4 D=64, T in {256, 1024, 4096}, one thread, timed as
process CPU time (median of --reps fwd+bwd; on a shared machine wall time mostly measures the
other tenants, so the wall-time ratio is printed beside it); every
measurement runs in a fresh subprocess so its peak RSS (VmHWM − RSS after building the inputs)
is its own (the loss projection, one output-sized tensor, is counted too). ``--skip-naive-above T`` estimates naive beyond T linearly from the largest T run
(marked "est.", the loop is linear in T). ``--mamba`` adds the training-step time of a small
Mamba model (workloads/nn/ssm.py) with the naive, chunked and compiled selective-scan backends.

GPU (``--device cuda``): triton vs chunk at B=8 T=4096 H=8 D=64, CUDA-event timing, peak
``max_memory_allocated``, and achieved bandwidth = compulsory bytes / time, where forward bytes
= inputs + outputs and backward bytes = inputs + output gradients + input gradients (a lower
bound on traffic: compare it with the card's peak). Reference libraries that are installed
(``benchmarks/reference_libs.py``: fla for GLA and the delta rule) get rows of their own, and
every row but chunk's gives its largest relative RMS difference from chunk over outputs and
input gradients.

    python benchmarks/kernels.py                       # CPU table
    python benchmarks/kernels.py --ops selective_scan --T 256,1024 --mamba
    python benchmarks/kernels.py --device cuda         # on a GPU machine
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository root goes first even when PYTHONPATH names it: this script's own folder (first
# on sys.path) holds kernels.py, which would shadow the `kernels` package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if p != str(ROOT)]


def discover_ops() -> list[str]:
    """Op folders under kernels/ that have a bench.py, sorted."""
    return sorted(p.parent.name for p in (ROOT / "kernels").glob("*/bench.py"))


def backend_fn(op: str, backend: str):
    """``<backend>_<op>`` from the op's package, else a reference library's kernel of that name
    (``benchmarks/reference_libs.py``, e.g. "fla"), or None when neither exists here."""
    from benchmarks.reference_libs import reference_fn

    module = importlib.import_module(f"kernels.{op}")  # an op that fails to import is an error, not a skip
    return getattr(module, f"{backend}_{op}", None) or reference_fn(op, backend)


def agreement(op: str, backend: str, base: str, B: int, T: int, H: int, D: int, device: str) -> float:
    """Largest relative RMS difference between ``backend`` and ``base`` over every floating output
    and every input gradient, on the same inputs and the same random projection loss."""
    import torch

    bench = importlib.import_module(f"kernels.{op}.bench")
    results = []
    for name in (backend, base):
        inputs = bench.make_inputs(B, T, H, D, device=device)
        outputs = _floats(backend_fn(op, name)(**inputs))
        gen = torch.Generator().manual_seed(1)
        loss = sum((y * torch.randn(y.shape, generator=gen).to(y)).real.sum() for y in outputs)
        loss.backward()
        grads = [v.grad for v in inputs.values() if isinstance(v, torch.Tensor) and v.requires_grad]
        results.append([t.detach() for t in outputs + grads])
    return largest_rel_rms(*results)


def largest_rel_rms(xs, refs) -> float:
    """max over pairs of ‖x − ref‖_rms / ‖ref‖_rms, in float64 (complex tensors by modulus)."""
    if len(xs) != len(refs):
        raise ValueError(f"{len(xs)} tensors against {len(refs)}: the backends return different outputs")
    return max(
        ((a.double() - b.double()).abs().pow(2).mean().sqrt() / b.double().abs().pow(2).mean().sqrt().clamp_min(1e-30)).item()
        for a, b in zip(xs, refs)
    )


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _floats(obj):
    """Floating tensors inside an output (tensor, or tuple of tensors / None)."""
    import torch

    items = obj if isinstance(obj, (tuple, list)) else (obj,)
    return [t for t in items if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())]


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def measure(op: str, backend: str, B: int, T: int, H: int, D: int, device: str, reps: int) -> dict:
    """Time forward+backward (and forward alone) of one op/backend; peak memory of one fwd+bwd."""
    import torch

    bench = importlib.import_module(f"kernels.{op}.bench")
    fn = backend_fn(op, backend)
    inputs = bench.make_inputs(B, T, H, D, device=device)
    leaves = [v for v in inputs.values() if isinstance(v, torch.Tensor) and v.requires_grad]
    weight = []  # the loss projection, drawn on the first call once the output shape is known

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def fwd_bwd():
        for v in leaves:
            v.grad = None
        y = _floats(fn(**inputs))[0]
        if not weight:
            weight.append(torch.randn(y.shape, generator=torch.Generator().manual_seed(1)).to(y))
        (y * weight[0]).real.sum().backward()

    def fwd():
        with torch.no_grad():
            return fn(**inputs)

    if device == "cuda":
        fwd_bwd()  # compile / autotune outside the memory window
        sync()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        try:  # reset the peak-RSS counter so VmHWM is this run's peak
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        base = _status_kb("VmRSS") * 1024
    t0 = time.perf_counter()
    fwd_bwd()
    sync()
    first = time.perf_counter() - t0  # wall time of the first (memory-measured) run
    peak = (torch.cuda.max_memory_allocated() if device == "cuda" else _status_kb("VmHWM") * 1024) - base
    out_bytes = _nbytes(_floats(fwd()))
    times, cpu_times, ftimes = [], [], []
    n = 1 if first > 5.0 else reps
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fwd_bwd()
        sync()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    for _ in range(n):
        t0 = time.perf_counter()
        fwd()
        sync()
        ftimes.append(time.perf_counter() - t0)
    in_bytes = _nbytes(leaves)
    grad_bytes = _nbytes([v.grad for v in leaves if v.grad is not None])
    t_fb, t_f = statistics.median(times), statistics.median(ftimes)
    return {
        "op": op, "backend": backend, "B": B, "T": T, "H": H, "D": D,
        "time_s": t_fb, "cpu_s": statistics.median(cpu_times), "fwd_s": t_f, "peak_mb": peak / 2**20,
        "fwd_gbps": (in_bytes + out_bytes) / t_f / 1e9,
        "fwd_bwd_gbps": (2 * in_bytes + 2 * out_bytes + grad_bytes) / t_fb / 1e9,
    }


def run_worker(args) -> None:
    """Subprocess entry: one measurement, printed as one JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    result = measure(args.worker_op, args.worker_backend, args.B, args.worker_T, args.H, args.D, args.device, args.reps)
    print("RESULT " + json.dumps(result), flush=True)


def spawn(op: str, backend: str, T: int, args) -> dict | None:
    """Run one CPU measurement in a fresh interpreter (its own peak RSS)."""
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--worker-op", op, "--worker-backend", backend,
        "--worker-T", str(T), "--B", str(args.B), "--H", str(args.H), "--D", str(args.D),
        "--device", args.device, "--threads", str(args.threads), "--reps", str(args.reps),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"# {op}/{backend}/T={T} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def machine(device: str, threads: int) -> str:
    """One line describing where the numbers came from."""
    from machine import describe  # benchmarks/machine.py, shared by every benchmark script

    return describe(device, threads)


def cpu_table(args, ops: list[str]) -> list[str]:
    """Markdown rows: chunk (and the compiled cpp kernel, where an op has one) vs naive per op and T."""
    rows = [
        "| op | B,H,D | T | naive CPU s | chunk CPU s | cpp CPU s | chunk speed-up (CPU) | cpp speed-up (CPU) "
        "| chunk speed-up (wall) | naive peak MB | chunk peak MB | cpp peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op in ops:
        if backend_fn(op, "chunk") is None or backend_fn(op, "naive") is None:
            print(f"# {op}: no naive/chunk pair, skipped", file=sys.stderr)
            continue
        has_cpp = backend_fn(op, "cpp") is not None
        last_naive = None
        for T in args.T:
            chunk = spawn(op, "chunk", T, args)
            cpp = spawn(op, "cpp", T, args) if has_cpp else None
            if args.skip_naive_above and T > args.skip_naive_above and last_naive is not None:
                grow = T / last_naive["T"]
                naive = dict(last_naive, time_s=last_naive["time_s"] * grow, cpu_s=last_naive["cpu_s"] * grow,
                             peak_mb=None, est=True)
            else:
                naive = spawn(op, "naive", T, args)
                last_naive = naive
            if chunk is None or naive is None:
                continue
            est = " est." if naive.get("est") else ""
            npeak = "n/a" if naive["peak_mb"] is None else f"{naive['peak_mb']:.0f}"
            cpp_s, cpp_x, cpp_mb = ("—", "—", "—") if cpp is None else (
                f"{cpp['cpu_s']:.3f}", f"{naive['cpu_s'] / cpp['cpu_s']:.1f}×{est}", f"{cpp['peak_mb']:.0f}")
            rows.append(
                f"| {op} | {args.B},{args.H},{args.D} | {T} | {naive['cpu_s']:.3f}{est} | {chunk['cpu_s']:.3f} | {cpp_s} | "
                f"{naive['cpu_s'] / chunk['cpu_s']:.1f}×{est} | {cpp_x} | {naive['time_s'] / chunk['time_s']:.1f}×{est} | "
                f"{npeak} | {chunk['peak_mb']:.0f} | {cpp_mb} |"
            )
            print(rows[-1], flush=True)
    return rows


def gpu_table(args, ops: list[str]) -> list[str]:
    """Markdown rows: every available backend on CUDA, with achieved bandwidth."""
    from benchmarks.reference_libs import reference_backends

    rows = [
        "| op | B,T,H,D | backend | fwd (ms) | fwd+bwd (ms) | peak (MB) | fwd GB/s | fwd+bwd GB/s | rel-RMS vs chunk |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for op in ops:
        backends = ["naive"] * args.with_naive + ["chunk", "triton"] + reference_backends(op)
        for T in args.T:
            for backend in backends:
                if backend_fn(op, backend) is None:
                    print(f"# {op}: no {backend} backend here, skipped", file=sys.stderr)
                    continue
                shape, diff = f"{args.B},{T},{args.H},{args.D}", ""
                try:
                    r = measure(op, backend, args.B, T, args.H, args.D, "cuda", args.reps)
                    if backend != "chunk":
                        diff = f"{agreement(op, backend, 'chunk', args.B, T, args.H, args.D, 'cuda'):.1e}"
                except Exception as exc:  # report and go on: one broken op must not hide the others
                    rows.append(f"| {op} | {shape} | {backend} | failed: {type(exc).__name__}: {exc} | | | | | |")
                    print(rows[-1], flush=True)
                    continue
                rows.append(
                    f"| {op} | {shape} | {backend} | {r['fwd_s'] * 1e3:.2f} | {r['time_s'] * 1e3:.2f} | "
                    f"{r['peak_mb']:.0f} | {r['fwd_gbps']:.1f} | {r['fwd_bwd_gbps']:.1f} | {diff} |"
                )
                print(rows[-1], flush=True)
    return rows


def mamba_table(args) -> list[str]:
    """Training-step time of a small Mamba LM with each selective-scan backend (naive first)."""
    import torch

    from workloads.nn.ssm import MambaLM

    torch.set_num_threads(args.threads)
    device = args.device
    rows = [
        f"| model | batch | T | backend | step ({'CPU ' if device == 'cpu' else ''}s) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    backends = ("naive", "chunk", "cpp") if device == "cpu" else ("chunk", "triton")
    for T in args.mamba_T:
        times = {}
        for backend in backends:
            torch.manual_seed(0)
            model = MambaLM(vocab=16, d_model=64, n_layers=2, d_state=16, backend=backend).to(device)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            tokens = torch.randint(0, 16, (args.mamba_batch, T + 1), generator=torch.Generator().manual_seed(0)).to(device)
            samples = []
            for step in range(args.mamba_steps + 1):
                t0 = time.perf_counter() if device == "cuda" else time.process_time()
                logits = model(tokens[:, :-1])
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 16), tokens[:, 1:].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                if device == "cuda":
                    torch.cuda.synchronize()
                if step:  # step 0 is warm-up
                    samples.append((time.perf_counter() if device == "cuda" else time.process_time()) - t0)
            times[backend] = statistics.median(samples)
        base = times[backends[0]]
        for backend in backends:
            rows.append(
                f"| MambaLM d64 L2 N16 | {args.mamba_batch} | {T} | {backend} | {times[backend]:.3f} | "
                f"{base / times[backend]:.1f}× |"
            )
            print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the tables, print them (and write them with --out)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", default="", help="comma-separated op folders (default: every kernels/*/bench.py)")
    p.add_argument("--T", default="", help="comma-separated lengths (default 256,1024,4096 on CPU, 4096 on CUDA)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--B", type=int, default=None)
    p.add_argument("--H", type=int, default=None)
    p.add_argument("--D", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--skip-naive-above", type=int, default=0, help="estimate naive linearly beyond this T")
    p.add_argument("--with-naive", action="store_true", help="also time naive on CUDA")
    p.add_argument("--mamba", action="store_true", help="add the Mamba training-step table")
    p.add_argument("--mamba-only", action="store_true", help="only the Mamba training-step table")
    p.add_argument("--mamba-T", default="256,1024")
    p.add_argument("--mamba-batch", type=int, default=8)
    p.add_argument("--mamba-steps", type=int, default=3)
    p.add_argument("--out", default="", help="also write the tables (markdown) to this file")
    p.add_argument("--worker-op", help=argparse.SUPPRESS)
    p.add_argument("--worker-backend", help=argparse.SUPPRESS)
    p.add_argument("--worker-T", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    gpu = args.device == "cuda"
    args.B = args.B or (8 if gpu else 2)
    args.H = args.H or (8 if gpu else 4)
    if args.worker_op:
        run_worker(args)
        return
    import torch

    torch.set_num_threads(args.threads)
    if gpu and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available here")
    args.T = [int(t) for t in args.T.split(",") if t] or ([4096] if gpu else [256, 1024, 4096])
    args.mamba_T = [int(t) for t in args.mamba_T.split(",") if t]
    known = discover_ops()
    ops = [o for o in args.ops.split(",") if o] or known
    for o in ops:
        if o not in known:
            sys.exit(f"unknown op {o!r}; ops with a bench.py: {', '.join(known)}")
    lines = [f"Machine: {machine(args.device, args.threads)}", ""]
    print(lines[0], flush=True)
    if not args.mamba_only:
        lines += (gpu_table if gpu else cpu_table)(args, ops) + [""]
    if args.mamba or args.mamba_only:
        lines += mamba_table(args) + [""]
    lines.append(f"Machine after: load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(lines[-1])
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
