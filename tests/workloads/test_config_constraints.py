"""Cross-field constraints live in the Configs, so `seqlab validate` refuses what every trial would.

Each case builds a Config from values that pass every single-field bound but would raise in the
workload's constructor (or a task or nn helper it calls); pydantic must refuse it with a message
naming the fields involved. Issue #20.
"""

from __future__ import annotations

import importlib
import textwrap

import pydantic
import pytest
from typer.testing import CliRunner

from orchestrator.cli import app

BAD = [
    # workload, values, field names the message must carry
    pytest.param("pointer_networks", {"n_min": 12, "n_max": 5}, ["n_min", "n_max"], id="pointer_networks-n_min>n_max"),
    pytest.param("seq2seq", {"min_len": 9, "max_len": 8}, ["min_len", "max_len"], id="seq2seq-min_len>max_len"),
    pytest.param("structformer", {"conv_size": 4}, ["conv_size"], id="structformer-conv_size-even"),
    pytest.param("structformer", {"d_model": 64, "n_heads": 3}, ["d_model", "n_heads"], id="structformer-heads"),
    pytest.param("flow_equivariant_rnn", {"kernel": 4}, ["kernel"], id="flow_equivariant_rnn-kernel-even"),
    pytest.param("flow_equivariant_rnn", {"kernel": 19, "size": 8}, ["kernel", "size"], id="flow_equivariant_rnn-kernel>ring"),
    pytest.param("mamba", {"chunk_size": 6}, ["chunk_size"], id="mamba-chunk_size-not-power-of-two"),
    pytest.param("mamba", {"task": "selective_copy", "n_data": 40, "seq_len": 32}, ["n_data", "seq_len"], id="mamba-n_data>seq_len"),
    pytest.param("stuffed_mamba", {"chunk_size": 12}, ["chunk_size"], id="stuffed_mamba-chunk_size"),
    pytest.param("stuffed_mamba", {"expand": 2, "d_model": 32, "heads": 3}, ["expand", "d_model", "heads"], id="stuffed_mamba-heads"),
    pytest.param("stuffed_mamba", {"task": "lm", "long_from": 4096, "eval_len": 2048}, ["short_len", "long_from", "eval_len"], id="stuffed_mamba-long_from>=eval_len"),
    pytest.param("stuffed_mamba", {"task": "passkey", "train_len": 12, "n_digits": 5}, ["train_len", "n_digits"], id="stuffed_mamba-passkey-train_len"),
    pytest.param("stuffed_mamba", {"task": "passkey", "passkey_lengths": (8, 128)}, ["passkey_lengths", "n_digits"], id="stuffed_mamba-passkey-lengths"),
    pytest.param("stuffed_mamba", {"task": "passkey", "passkey_lengths": ()}, ["passkey_lengths"], id="stuffed_mamba-passkey-no-lengths"),
    pytest.param("ar_net", {"order": 50, "n_train": 50}, ["order", "n_train"], id="ar_net-order>=n_train"),
    pytest.param("ar_net", {"coefficients": (1.2,)}, ["coefficients"], id="ar_net-not-stationary"),
    pytest.param("bigram_subnetworks", {"d_model": 64, "n_heads": 5}, ["d_model", "n_heads"], id="bigram_subnetworks-heads"),
    pytest.param("deltaproduct", {"group": "Z0"}, ["group"], id="deltaproduct-empty-group"),
    pytest.param("hydra", {"expand": 2, "d_model": 32, "headdim": 12}, ["expand", "d_model", "headdim"], id="hydra-headdim"),
    pytest.param("hydra", {"n_pairs": 11, "seq_len": 32, "n_keys": 16}, ["n_pairs", "seq_len"], id="hydra-3n_pairs>seq_len"),
    pytest.param("hydra", {"n_pairs": 9, "n_keys": 8}, ["n_pairs", "n_keys"], id="hydra-n_pairs>n_keys"),
    pytest.param("gpipe", {"branching": 17, "vocab": 16}, ["branching", "vocab"], id="gpipe-branching>vocab"),
    pytest.param("icll", {"min_states": 7, "max_states": 6}, ["min_states", "max_states"], id="icll-states"),
    pytest.param("icll", {"min_symbols": 9, "max_symbols": 8}, ["min_symbols", "max_symbols"], id="icll-symbols"),
    pytest.param("icll", {"min_out": 4, "max_out": 3}, ["min_out", "max_out"], id="icll-out"),
    pytest.param("icll", {"min_len": 9, "max_len": 8}, ["min_len", "max_len"], id="icll-len"),
    pytest.param("icll", {"max_symbols": 17, "vocab": 16}, ["max_symbols", "vocab"], id="icll-max_symbols>vocab"),
    pytest.param("icll", {"arch": "transformer", "d_model": 64, "n_heads": 3}, ["d_model", "n_heads"], id="icll-heads"),
    pytest.param("miras", {"n_pairs": 40, "n_keys": 32}, ["n_pairs", "n_keys"], id="miras-n_pairs>n_keys"),
    pytest.param("miras", {"n_queries": 9, "n_pairs": 8}, ["n_queries", "n_pairs"], id="miras-n_queries>n_pairs"),
    pytest.param("miras", {"noisy": True, "collide": 0.5, "n_pairs": 8, "n_queries": 6}, ["n_queries", "n_pairs"], id="miras-noisy-collisions"),
    pytest.param("sma", {"n_pairs": 17, "n_keys": 16}, ["n_pairs", "n_keys"], id="sma-n_pairs>n_keys"),
    pytest.param("sma", {"n_queries": 5, "n_pairs": 4}, ["n_queries", "n_pairs"], id="sma-n_queries>n_pairs"),
    pytest.param("rnn_review", {"task": "tagging", "shift": 100, "length": 100}, ["shift", "length"], id="rnn_review-shift>=length"),
    pytest.param("s4", {"model": "transformer", "d_model": 64, "n_heads": 3}, ["d_model", "n_heads"], id="s4-heads"),
    pytest.param("verbatim_memory", {"arch": "transformer", "d_model": 64, "n_heads": 3}, ["d_model", "n_heads"], id="verbatim_memory-heads"),
    pytest.param("verbatim_memory", {"pos": "rope", "d_model": 24, "n_heads": 8}, ["d_model", "n_heads"], id="verbatim_memory-rope-odd-head"),
]

# The same kind of values where the check does not apply (another mode) or holds at its edge.
GOOD = [
    pytest.param("pointer_networks", {"n_min": 7, "n_max": 7}, id="pointer_networks-equal"),
    pytest.param("mamba", {"task": "induction", "n_data": 40, "seq_len": 32}, id="mamba-induction-ignores-n_data"),
    pytest.param("stuffed_mamba", {"task": "passkey", "long_from": 4096, "eval_len": 2048, "train_len": 13, "n_digits": 5}, id="stuffed_mamba-passkey-edge"),
    pytest.param("stuffed_mamba", {"task": "lm", "passkey_lengths": ()}, id="stuffed_mamba-lm-ignores-passkey"),
    pytest.param("hydra", {"n_pairs": 8, "seq_len": 24, "n_keys": 8}, id="hydra-edge"),
    pytest.param("icll", {"arch": "lstm", "d_model": 64, "n_heads": 3}, id="icll-lstm-ignores-heads"),
    pytest.param("miras", {"noisy": False, "collide": 0.5, "n_pairs": 8, "n_queries": 8}, id="miras-clean-ignores-collide"),
    pytest.param("rnn_review", {"task": "adding", "shift": 100, "length": 100}, id="rnn_review-adding-ignores-shift"),
    pytest.param("s4", {"model": "s4d", "d_model": 64, "n_heads": 3}, id="s4-ssm-ignores-heads"),
    pytest.param("verbatim_memory", {"arch": "lstm", "d_model": 64, "n_heads": 3}, id="verbatim_memory-lstm-ignores-heads"),
]

CHANGED = sorted({p.values[0] for p in BAD})


def config(workload: str):
    return importlib.import_module(f"workloads.{workload}").Config


@pytest.mark.parametrize(("workload", "values", "fields"), BAD)
def test_bad_combination_is_refused_naming_its_fields(workload, values, fields):
    with pytest.raises(pydantic.ValidationError) as err:
        config(workload)(**values)
    message = str(err.value)
    for field in fields:
        assert field in message, f"{workload}: {field!r} not named in {message}"


@pytest.mark.parametrize(("workload", "values"), GOOD)
def test_inapplicable_or_edge_values_are_accepted(workload, values):
    config(workload)(**values)


@pytest.mark.parametrize("workload", CHANGED)
def test_defaults_validate(workload):
    config(workload)()


def test_validate_refuses_a_sweep_whose_fixed_values_clash(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: sorting
            workload: pointer_networks
            objective: {metric: val/pos_acc, mode: max}
            search: {sampler: tpe, num_trials: 4}
            parameters:
              lr: {type: float, low: 3.0e-4, high: 3.0e-3, log: true}
            fixed: {n_min: 12, n_max: 5}
            """
        )
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert "n_min (12)" in message and "n_max (5)" in message, message
    assert "sweep.yaml:7: fixed: pointer_networks's Config refuses these values: n_min (12) must be <= n_max (5)" in message, message
