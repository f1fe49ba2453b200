import numpy as np
import torch

from workloads.nsr import parser as P
from workloads.nsr.abduction import Abducer, Fix, evaluate, rotate
from workloads.nsr.programs import BINARY, DSL, EMPTY_PROG, UNKNOWN, induce
from workloads.tasks import arith
from workloads.testing import WorkloadTestCase

TINY = {"steps": 3, "eval_every": 3, "n_train": 60, "n_test": 5, "batch": 12, "samples": 2, "beam": 3, "parser_steps": 5, "parser_batch": 32, "curriculum": 1}


class TestNSR(WorkloadTestCase):
    name = "nsr"
    tiny = TINY
    fixed_batch_steps = 8
    objective_probe = "val/programs_right"  # accuracy on 5 tiny test expressions stays 0 in 8 iterations


class TestNSRTransformer(WorkloadTestCase):
    name = "nsr"
    tiny = {**TINY, "variant": "transformer", "d_model": 16, "batch": 8, "lr": 3.0e-3}
    objective_probe = "val/nll_short"  # accuracy on 5 tiny test expressions stays 0 in 25 steps


class TestNSRTransformerRope(WorkloadTestCase):
    name = "nsr"
    tiny = {**TINY, "variant": "transformer", "d_model": 16, "n_layers": 2, "pos": "rope", "batch": 8, "lr": 3.0e-3}
    objective_probe = "val/nll_short"


def test_generator_values_match_python_arithmetic_mod_100() -> None:
    rng = np.random.default_rng(0)
    for n in range(7):
        e = arith.sample(rng, n, 0.5)
        assert e.n_ops == n
        assert e.value == eval("".join(e.tokens)) % 100


def test_gold_tree_under_true_programs_gives_the_value() -> None:
    progs = {arith.W2I[str(d)]: DSL[d] for d in range(10)}
    progs.update({arith.W2I[o]: next(p for p in BINARY if p.name == n) for o, n in (("+", "add"), ("-", "sub"), ("*", "mul"))})
    progs.update({arith.W2I["("]: EMPTY_PROG, arith.W2I[")"]: EMPTY_PROG})
    rng = np.random.default_rng(1)
    for _ in range(50):
        e = arith.sample(rng, int(rng.integers(6)), 0.5)
        head, value = arith.gold_tree_value(e.tokens)
        assert evaluate(e.ids, head, progs)[head.index(-1)] == e.value == value


def test_oracle_reproduces_projective_trees_and_parser_follows_it() -> None:
    rng = np.random.default_rng(2)
    e = arith.sample(rng, 4, 0.5)
    head, _ = arith.gold_tree_value(e.tokens)
    pairs = P.oracle(e.ids, head)
    assert pairs is not None and len(pairs) == 2 * len(e.ids) - 1
    st = P.State(e.ids)
    for _, _, a in pairs:
        st.apply(a)
    assert st.head == head


def test_rotation_keeps_projectivity_and_can_be_undone() -> None:
    head, _ = arith.gold_tree_value(list("1+2*3"))  # + heads 1 and *, * heads 2 and 3
    rot = rotate(head, 1, 3)  # * takes +'s place
    assert rot[3] == -1 and rot[1] == 3 and P.oracle(tuple(arith.W2I[t] for t in "1+2*3"), rot) is not None
    assert rotate(rot, 3, 1) == head


def test_induction_picks_the_program_that_explains_most_examples() -> None:
    ex = [((a, b), (a * b) % 100) for a in range(10) for b in range(10)]
    prog, lik = induce(ex + [((1, 1), 5)])
    assert prog.name == "mul" and 0.98 < lik < 1.0
    assert induce([((), 7)] * 3 + [((), 4)])[0].name == "7"
    assert induce([])[0] is UNKNOWN


def test_abduction_finds_a_program_edit_for_an_unknown_operator() -> None:
    progs = {arith.W2I[str(d)]: DSL[d] for d in range(10)}
    progs.update({s: UNKNOWN for s in (arith.W2I["+"], arith.W2I["-"], arith.W2I["*"])})
    progs.update({arith.W2I["("]: EMPTY_PROG, arith.W2I[")"]: EMPTY_PROG})
    lik = {s: (1.0 if s < 10 else 0.0) for s in progs}
    sent = tuple(arith.W2I[t] for t in "3+4")
    fix, depth = Abducer(progs, lik, 1.0, 0.5, 1.0, 10, 2).search(sent, [Fix([1, -1, 1], 0.0)], 7)
    assert depth == 1 and fix.values[1] == 7
    assert fix.progs[arith.W2I["+"]].name in ("add",)  # 3 + 4 = 7 is explained only by add


def test_nsr_learns_digits_and_operators_in_a_few_iterations() -> None:
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("nsr")
    run = wl.build(wl.make_config({"n_train": 400, "n_test": 20, "batch": 60, "curriculum": 2, "parser_steps": 60}), "cpu")
    for step in range(6):
        run.train_step(step)
    assert run.evaluate()["val/programs_right"] == 1.0


def test_transformer_learning_rate_warms_up_then_decays_to_zero() -> None:
    from orchestrator.registry import load

    wl = load("nsr")
    run = wl.build(wl.make_config({**TINY, "variant": "transformer", "d_model": 16, "steps": 1000, "lr": 1.0e-3}), "cpu")
    lrs = [run.lr_at(step) for step in (0, 99, 500, 999)]
    assert abs(lrs[0] - 1.0e-5) < 1e-12  # first warm-up step: lr / 100
    assert 0.95e-3 < lrs[1] < 1.0e-3  # warm-up done, cosine barely started
    assert abs(lrs[2] - 0.5e-3) < 1e-12 and lrs[3] < 1e-8  # half-way: half the peak; the end: ~0


def test_config_refuses_rope_with_an_odd_head_size() -> None:
    import pytest
    from pydantic import ValidationError

    from orchestrator.registry import load

    with pytest.raises(ValidationError, match="even head size"):
        load("nsr").make_config({"variant": "transformer", "d_model": 12, "n_heads": 4, "pos": "rope"})
    with pytest.raises(ValidationError, match="divisible by n_heads"):
        load("nsr").make_config({"variant": "transformer", "d_model": 18, "n_heads": 4})
