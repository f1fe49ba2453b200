import pytest
import torch

from workloads.nn.s4 import S4, S4D, S5, SSMModel, hippo_legs, legs_dplr, s4d_init


def test_hippo_legs_entries_match_the_formula():
    A, B = hippo_legs(4)
    assert A[2, 0] == pytest.approx(-(5**0.5) * 1.0) and A[3, 3] == -4 and A[0, 1] == 0
    assert B[3] == pytest.approx(7**0.5)


def test_dplr_form_reconstructs_hippo_legs():
    N = 8  # eigenvalues of the non-normal A are ill-conditioned at larger N
    A, B = hippo_legs(N)
    Lam, P, Bt = legs_dplr(N)
    # A = V (Λ − P̃ P̃*) V* with V unitary: same spectrum (−1 … −N) and the same ‖B‖
    dense = torch.diag(Lam) - P[:, None] * P.conj()[None]
    assert torch.allclose(torch.linalg.eigvals(dense).real.sort().values, -torch.arange(N, 0, -1, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(Lam.real, torch.full((N,), -0.5, dtype=torch.float64))
    assert Bt.abs().pow(2).sum().item() == pytest.approx(B.pow(2).sum().item())


@pytest.mark.parametrize("cls", [S4D, S4, S5], ids=["s4d", "s4", "s5"])
def test_recurrent_and_convolution_modes_agree(cls):
    torch.manual_seed(0)
    layer = cls(4, 8)
    u = torch.randn(2, 63, 4)
    conv, rec = layer(u), layer.recurrent(u)
    assert (conv - rec).abs().max() < 1e-4 * max(1.0, conv.abs().max().item())


@pytest.mark.parametrize("kind", ["lin", "inv", "legs", "random"])
def test_s4d_inits_are_stable(kind):
    A = s4d_init(kind, 16)
    assert A.shape == (16,) and (A.real < 0).all()


@pytest.mark.parametrize("kind", ["s4d", "s4", "s5"])
def test_ssm_model_is_causal(kind):
    torch.manual_seed(0)
    model = SSMModel(2, 3, H=8, N=4, layers=2, kind=kind, pool="last")
    x = torch.randn(1, 20, 2)
    y = model.blocks[0](model.encoder(x))
    x2 = x.clone()
    x2[:, 15:] += 1.0
    y2 = model.blocks[0](model.encoder(x2))
    assert torch.allclose(y[:, :15], y2[:, :15], atol=1e-5) and not torch.allclose(y[:, 15:], y2[:, 15:])


def test_krylov_kernel_matches_explicit_powers():
    from workloads.nn.s4 import bilinear, krylov_kernel

    A, B = hippo_legs(6)
    Abar, Bbar = bilinear(A[None], B[None], torch.tensor([0.1], dtype=torch.float64))
    C = torch.randn(1, 6, dtype=torch.float64)
    K = krylov_kernel(Abar, Bbar, C, 10)
    explicit = torch.stack([C[0] @ torch.linalg.matrix_power(Abar[0], k) @ Bbar[0] for k in range(10)])
    assert torch.allclose(K[0], explicit)
