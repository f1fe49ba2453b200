import torch

from workloads.nn.transformer import TinyTransformer, rotary


def test_default_transformer_keeps_its_learned_position_table_and_length_limit() -> None:
    torch.manual_seed(0)
    model = TinyTransformer(11, 16, 1, 2, max_len=8)
    assert model.pos is not None and model.pos.weight.shape == (8, 16)
    try:
        model(torch.zeros(1, 9, dtype=torch.long))
    except ValueError:
        pass
    else:
        raise AssertionError("a sequence longer than max_len should be refused with learned positions")


def test_rotary_scores_depend_only_on_relative_offset() -> None:
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    T = 12
    qs, ks = rotary(q.expand(1, 1, T, 8).contiguous()), rotary(k.expand(1, 1, T, 8).contiguous())
    scores = (qs @ ks.transpose(-2, -1))[0, 0]  # (T, T): same q and k content at every position
    for offset in (0, 1, 3):
        diag = torch.diagonal(scores, -offset)
        torch.testing.assert_close(diag, diag[:1].expand_as(diag), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, -3)[0])
    torch.testing.assert_close(qs.norm(dim=-1), q.norm(dim=-1).expand(1, 1, T))


def test_rope_transformer_is_causal_and_runs_past_max_len() -> None:
    torch.manual_seed(0)
    model = TinyTransformer(11, 16, 2, 2, max_len=8, pos="rope")
    assert model.pos is None
    x = torch.randint(11, (2, 20))
    out = model(x)
    y = x.clone()
    y[:, 15:] = (y[:, 15:] + 1) % 11
    torch.testing.assert_close(model(y)[:, :15], out[:, :15])  # the future does not leak
    assert out.shape == (2, 20, 11)
