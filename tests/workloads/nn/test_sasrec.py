import torch

from workloads.nn.sasrec import SASRec, gather_last, next_item_loss


def test_sasrec_is_causal_and_gathers_the_last_real_position() -> None:
    torch.manual_seed(0)
    model = SASRec(16, 2, 2, max_len=10).eval()
    x = torch.randn(2, 10, 16)
    y = x.clone()
    y[:, 6:] = torch.randn(2, 4, 16)
    torch.testing.assert_close(model(x)[:, :6], model(y)[:, :6])
    last = gather_last(model(x), torch.tensor([6, 10]))
    torch.testing.assert_close(last[0], model(y)[0, 5])
    torch.testing.assert_close(last[1], model(x)[1, 9])


def test_next_item_loss_ignores_padding_and_learns() -> None:
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(5, 8))
    h = torch.nn.Parameter(torch.randn(1, 3, 8))
    targets = torch.tensor([[1, 2, -1]])
    opt = torch.optim.Adam([table, h], lr=0.1)
    first = float(next_item_loss(h, table, targets))
    for _ in range(30):
        opt.zero_grad()
        next_item_loss(h, table, targets).backward()
        opt.step()
    assert float(next_item_loss(h, table, targets)) < first / 4
