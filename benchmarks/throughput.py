"""Training throughput of every family workload at its claim configs, on the CPU path, one thread.

Each case is (workload, config overrides, tokens per train_step as a function of the config, or
None where a step's token count varies: then only the step time is printed).
A case's time is the median process-CPU time of ``--steps`` train steps after one warm-up step
(CPU time, not wall time, so a shared machine inflates it less).

Run: python -m benchmarks.throughput [--family recurrent] [--workload mamba] [--steps 3]
Prints a Markdown table and the machine line; paste it into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import statistics
import time

CASES = [
    # foundation
    ("ar_net", {}, lambda c: c.batch * c.order),  # windows of `order` points
    # algorithmic
    ("verbatim_memory", {"arch": "transformer", "n_layers": 2}, lambda c: 16 * 95),
    ("verbatim_memory", {"arch": "transformer", "n_layers": 1}, lambda c: 16 * 95),
    ("verbatim_memory", {"arch": "transformer", "n_layers": 2, "pos": "rope"}, lambda c: 16 * 95),
    ("verbatim_memory", {"arch": "transformer", "n_layers": 1, "pos": "rope"}, lambda c: 16 * 95),
    ("verbatim_memory", {"arch": "lstm"}, lambda c: 16 * 95),
    ("bigram_subnetworks", {}, lambda c: c.batch * (c.seq_len - 1)),  # LM phase (steps < lm_steps)
    ("structformer", {}, lambda c: c.batch * 10),  # 5–20 words a sentence, about 10 on average
    ("icll", {}, lambda c: c.batch * c.seq_len),
    ("linear_icl", {"variant": "lsa"}, lambda c: c.batch * (c.n_ctx + 1)),  # prompts of N examples and a query
    ("next_element", {"model": "gru"}, lambda c: None),  # traces of varying length: step time only
    ("order_matters", {"task": "sort"}, lambda c: c.batch * c.n),
    ("order_matters", {"task": "topk", "n": 10, "order": "fixed"}, lambda c: c.batch * c.n),
    ("nsr", {"variant": "nsr"}, lambda c: c.batch * 8),  # one EM iteration; ~8 tokens an expression (curriculum: early steps shorter)
    ("nsr", {"variant": "transformer", "batch": 64, "lr": 1.0e-3}, lambda c: c.batch * 11),  # ~8 tokens + '=' + 2 digits
    # recurrent
    ("mamba", {"selective": True}, lambda c: c.batch * (c.seq_len + c.n_data)),
    ("mamba", {"selective": False}, lambda c: c.batch * (c.seq_len + c.n_data)),
    ("stuffed_mamba", {}, lambda c: c.batch * c.train_len),  # char-LM at 64
    ("stuffed_mamba", {"task": "passkey", "train_len": 128, "batch": 8}, lambda c: c.batch * c.train_len),
    *[("s4_survey", {"model": m, "batch": 16}, lambda c: c.batch * c.seq_len) for m in ("s4d", "s4", "s5", "lstm")],
    *[("s4", {"model": m}, lambda c: c.batch * c.side**2) for m in ("s4", "s4d", "transformer", "lstm")],
    ("rnn_review", {"task": "adding", "cell": "lstm", "length": 100}, lambda c: c.batch * c.length),
    ("rnn_review", {"task": "adding", "cell": "rnn", "length": 100}, lambda c: c.batch * c.length),
    ("rnn_review", {"task": "tagging", "cell": "lstm", "bidirectional": True, "length": 30}, lambda c: c.batch * c.length),
    ("deltaproduct", {"n_householder": 2, "negative_eigenvalues": True}, lambda c: c.batch * c.train_length),
    ("deltaproduct", {"n_householder": 1, "negative_eigenvalues": True}, lambda c: c.batch * c.train_length),
    ("flow_equivariant_rnn", {"max_velocity": 2}, lambda c: c.batch * 20),  # observed + predicted frames
    ("flow_equivariant_rnn", {"max_velocity": 0}, lambda c: c.batch * 20),
    *[("spikmamba", {"model": m, "batch": 16}, lambda c: c.batch * c.frames * (c.size // 8) ** 2) for m in ("spikmamba", "ann_mamba", "scnn")],  # 8x8-px patch tokens
    *[("sma", {"variant": v}, lambda c: c.batch * (2 * c.n_pairs + c.n_queries + c.n_filler)) for v in ("seqboat", "dense", "ssm")],  # MQAR with filler
    *[("lssl", o, lambda c: c.batch * c.side**2) for o in ({"init": "legs"}, {"model": "lstm", "lr": 2.0e-3})],
    *[("hydra", {"mixer": m}, lambda c: c.batch * c.seq_len) for m in ("hydra", "add", "concat", "toeplitz", "causal")],
    *[("miras", {"variant": v}, lambda c: c.batch * (2 * c.n_pairs + c.n_queries + c.n_filler)) for v in ("linear", "deltanet", "moneta", "yaad", "memora")],
    # applied
    *[("pedagogical_agent", {"model": m}, lambda c: c.batch * c.length) for m in ("npa", "dkt")],  # interactions
    *[("cs_ner", {"crf": crf, "chars": chars}, lambda c: None) for crf, chars in ((True, True), (False, False))],  # titles vary in length
    *[("idnp", {"model": m}, lambda c: c.batch * c.sessions_max * c.session_len) for m in ("idnp", "sasrec")],  # items, at most
    *[("text_vectors", {"model": m}, lambda c: c.batch * c.doc_len) for m in ("bpv", "autoencoder")],  # words
    ("defsent_plus", {"method": "defsent_plus", "pretrain_steps": 0}, lambda c: None),  # definitions vary in length
    ("defsent_plus", {"method": "mean"}, lambda c: None),  # an MLM step on synthetic sentences
    *[("hier_nse", {"model": m}, lambda c: c.batch * c.n_sent * c.sent_len) for m in ("hier_nse", "flat")],  # document tokens
    *[("playlist", {"model": m}, lambda c: None) for m in ("seq2seq", "skipgram_mean", "bag_ae")],  # playlists of 8-20 songs
    *[("recformer", {"model": m}, lambda c: None) for m in ("recformer", "sasrec_id")],  # histories vary in length
]


def step_seconds(workload, overrides: dict, steps: int) -> tuple[object, float]:
    """Build ``workload`` with ``overrides`` on CPU; median CPU seconds of ``steps`` train steps."""
    cfg = workload.make_config(overrides)
    run = workload.build(cfg, "cpu")
    run.train_step(0)
    times = []
    for step in range(1, steps + 1):
        start = time.process_time()
        run.train_step(step)
        times.append(time.process_time() - start)
    return cfg, statistics.median(times)


def main() -> None:
    """Print one row per case (filtered by family or workload), and the machine."""
    import torch

    from benchmarks.machine import describe
    from orchestrator.registry import load

    parser = argparse.ArgumentParser()
    parser.add_argument("--family", help="Only workloads of this family.")
    parser.add_argument("--workload", help="Only this workload.")
    parser.add_argument("--steps", type=int, default=3, help="Timed steps per case (after one warm-up).")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe("cpu", 1))
    print("| workload | family | config | tokens/step | step (CPU s) | tokens/s |")
    print("|---|---|---|---|---|---|")
    for name, overrides, tokens in CASES:
        if args.workload and name != args.workload:
            continue
        workload = load(name)
        family = workload.family
        if args.family and family != args.family:
            continue
        cfg, seconds = step_seconds(workload, overrides, args.steps)
        n = tokens(cfg)
        rate = "n/a" if n is None else f"{n / seconds:,.0f}"
        print(f"| {name} | {family} | {overrides} | {n or 'varies'} | {seconds:.3f} | {rate} |", flush=True)
    print(describe("cpu", 1))


if __name__ == "__main__":
    main()
