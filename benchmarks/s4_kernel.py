"""S4's kernel generation (DPLR: Cauchy + Woodbury at the roots of unity, then an inverse FFT) vs
LSSL's dense-A Krylov kernel (doubling), N = 64, H = 16 channels, L in {1024, 4096}; forward and
forward + backward, float32, process CPU time (median of 3 after a warm-up).

Run: python benchmarks/s4_kernel.py
"""

from __future__ import annotations

import os
import statistics
import time


def _time(fn, reps: int = 3) -> float:
    fn()
    out = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return statistics.median(out)


def main() -> None:
    """Print the table and the machine."""
    import torch

    from benchmarks.machine import describe
    from workloads.nn.s4 import S4, bilinear, hippo_legs, krylov_kernel

    torch.set_num_threads(1)
    torch.manual_seed(0)
    H, N = 16, 64
    s4 = S4(H, N)
    A, B = hippo_legs(N)
    A = A.float().expand(H, N, N).clone().requires_grad_()
    Bv = B.float().expand(H, N).clone()
    C = torch.randn(H, N, requires_grad=True)
    dt = torch.full((H,), 0.01)

    def lssl(L: int, backward: bool) -> None:
        Abar, Bbar = bilinear(A, Bv, dt)
        K = krylov_kernel(Abar, Bbar, C, L)
        if backward:
            K.square().sum().backward()

    def s4k(L: int, backward: bool) -> None:
        K = s4.kernel(L)
        if backward:
            K.square().sum().backward()

    print(describe("cpu", 1), f"| load average {os.getloadavg()[0]:.1f}")
    print("| L | pass | LSSL dense Krylov (CPU s) | S4 DPLR Cauchy (CPU s) | speed-up |")
    print("|---|---|---|---|---|")
    for L in (1024, 4096):
        for backward in (False, True):
            t_lssl, t_s4 = _time(lambda: lssl(L, backward)), _time(lambda: s4k(L, backward))
            print(f"| {L} | {'fwd+bwd' if backward else 'fwd'} | {t_lssl:.4f} | {t_s4:.4f} | {t_lssl / t_s4:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
