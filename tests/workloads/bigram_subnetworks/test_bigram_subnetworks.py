import torch

from workloads.bigram_subnetworks import mask as M
from workloads.nn.transformer import TinyTransformer
from workloads.testing import WorkloadTestCase


class TestBigramSubnetworks(WorkloadTestCase):
    name = "bigram_subnetworks"
    tiny = {"steps": 6, "lm_steps": 2, "eval_every": 3, "vocab": 16, "seq_len": 16, "batch": 4, "d_model": 16, "n_heads": 2, "n_layers": 2, "eval_docs": 4}


def small_model():
    torch.manual_seed(0)
    return TinyTransformer(12, 16, 2, 2, max_len=8)


def test_all_ones_mask_reproduces_the_model_and_masks_only_block_linears():
    model = small_model()
    names = M.maskable_names(model)
    assert names and all(n.startswith("blocks.") and ".ln" not in n for n in names)
    assert not any(n.startswith(("embed", "pos", "head", "ln_f")) for n in names)
    tokens = torch.randint(0, 12, (2, 8))
    ones = {n: torch.ones_like(p) for n, p in model.named_parameters() if n in names}
    assert torch.allclose(M.masked_forward(model, ones, tokens), model(tokens))


def test_random_like_keeps_exactly_as_many_entries():
    model = small_model()
    logits = M.init_logits(model, M.maskable_names(model), -1.0)
    with torch.no_grad():
        first = next(iter(logits.values()))
        first.view(-1)[:37] = 1.0
    learned = M.hard(logits)
    rand = M.random_like(learned, torch.Generator().manual_seed(0))
    assert sum(float(m.sum()) for m in rand.values()) == 37
    assert M.density(rand) == M.density(learned)


def test_group_of_names_attention_and_mlp_of_a_block():
    assert M.group_of("blocks.0.mlp.2.weight") == "blocks.0.mlp"
    assert M.group_of("blocks.3.attn.qkv.bias") == "blocks.3.attn"


def test_mask_training_shrinks_the_mask():
    case = TestBigramSubnetworks()
    inst = case.build(steps=40, lm_steps=2, sparsity=5.0)
    for step in range(40):
        out = inst.train_step(step)
    assert out["mask/soft_density"] < 0.9
    assert inst.evaluate()["val/mask_density"] < 1.0
