"""What each Ray Train worker of a pipelined job runs: one rank of a DeepSpeed pipeline.

Ray Train's ``TorchTrainer`` starts the workers and their process group (gloo on CPU, NCCL on
GPU); this loop builds the rank's stage of the ``PipelineModule`` from the workload's layer
specs, hands it to DeepSpeed's ``PipelineEngine`` and calls ``train_batch`` once per step. Every
``report_every`` steps (and at evaluations) it reports through ``ray.train.report``, with step
time and tokens/s averaged since the last report; every ``checkpoint_every`` steps each rank saves
its own shard of a DeepSpeed checkpoint into that report, and Ray Train merges the shards of all
ranks into one checkpoint folder. A restarted worker group (a worker died, ``FailureConfig``)
loads the last such checkpoint and continues with the step after it.

Imported only on the workers and by :mod:`orchestrator.job` inside functions (heavy imports).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def topology(stages: int, data_parallel: int):
    """DeepSpeed's process grid with the pipe axis innermost: rank = data × stages + stage.

    So one pipeline's stages hold consecutive ranks, and Ray Train, which gives consecutive
    ranks to workers on the same node, keeps neighbouring stages (which exchange activations
    every micro-batch) on one node; only the data-parallel gradient all-reduce crosses nodes.
    """
    from deepspeed.runtime.pipe.topology import ProcessTopology

    return ProcessTopology(axes=["data", "pipe"], dims=[data_parallel, stages])


def ds_config(batch_size: int, micro_batches: int, data_parallel: int, zero_stage: int) -> dict[str, Any]:
    """DeepSpeed's config: one synchronous update per mini-batch of ``batch_size`` sequences."""
    return {
        "train_batch_size": batch_size,
        "train_micro_batch_size_per_gpu": batch_size // (micro_batches * data_parallel),
        "gradient_accumulation_steps": micro_batches,
        "gradient_clipping": 0.0,
        "steps_per_print": 10**9,
        "zero_optimization": {"stage": zero_stage},
        "wall_clock_breakdown": False,
    }


def rank_micro_batches(inputs, labels, micro_batches: int, data_parallel: int, data_rank: int) -> list:
    """This data-parallel rank's slice of a mini-batch, cut into ``micro_batches`` (inputs, labels)."""
    per_rank = inputs.shape[0] // data_parallel
    lo, hi = data_rank * per_rank, (data_rank + 1) * per_rank
    return list(zip(inputs[lo:hi].chunk(micro_batches), labels[lo:hi].chunk(micro_batches)))


def _evaluate(engine, parts, micro_size: int, data_parallel: int, data_rank: int) -> float:
    """Held-out loss through the pipeline, averaged over data-parallel ranks.

    Micro-batches keep the training micro-batch size: the engine reuses its activation buffers,
    whose shapes are fixed by the first batch.
    """
    import torch
    import torch.distributed as dist

    inputs, labels = parts.eval_batch()
    usable = (inputs.shape[0] // (micro_size * data_parallel)) * micro_size * data_parallel
    count = usable // (micro_size * data_parallel)
    batches = rank_micro_batches(inputs[:usable], labels[:usable], count, data_parallel, data_rank)
    loss = engine.eval_batch(iter(batches), num_micro_batches=count)
    value = torch.as_tensor(loss, dtype=torch.float32).detach().reshape(1).clone()
    dist.all_reduce(value)  # every rank of a pipeline holds its pipeline's loss after the bcast
    return float(value.item()) / dist.get_world_size()


def check_visible_gpu(use_gpu: bool) -> None:
    """A rank given a GPU must see one: DeepSpeed would otherwise fail deep inside, or not at all.

    Ray Train sets each worker's ``CUDA_VISIBLE_DEVICES`` (to the GPUs of its node's workers, so
    NCCL can reach them); this only checks that torch sees them.
    """
    if not use_gpu:
        return
    from orchestrator.devices import require_visible_gpu

    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    require_visible_gpu(f"this pipeline rank was given a GPU (CUDA_VISIBLE_DEVICES={visible})")


HISTORY = "reports.jsonl"  # rank 0's reports up to a checkpoint, saved in it


def read_history(folder: str | Path) -> list[dict[str, Any]]:
    """The reports saved in a job checkpoint (empty for a checkpoint without them)."""
    path = Path(folder, HISTORY)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_rank(config: dict[str, Any], rank: int, report, restore_dir: str | None = None) -> None:
    """Train one rank of the pipeline described by ``config`` (the dict run_job builds).

    The process group must exist already. ``report(metrics, folder)`` is called on every rank
    equally often; ``folder`` is None or a folder holding this rank's checkpoint shard, valid
    only during the call. ``restore_dir`` is a merged checkpoint of all ranks to resume from.
    """
    os.environ.setdefault("DS_ACCELERATOR", "cuda" if config["use_gpu"] else "cpu")
    check_visible_gpu(config["use_gpu"])
    import deepspeed
    import torch
    from deepspeed.runtime.pipe import LayerSpec, PipelineModule

    from orchestrator.registry import load

    torch.set_num_threads(config["threads"])
    wl = load(config["workload"])
    cfg = wl.make_config(config["config"])
    parts = wl.pipeline(cfg)
    stages, dp, m = config["stages"], config["data_parallel"], config["micro_batches"]

    deepspeed.init_distributed(dist_backend=config["backend"])  # uses the existing process group
    grid = topology(stages, dp)
    data_rank = grid.get_coord(rank).data
    torch.manual_seed(cfg.seed)
    module = PipelineModule(
        layers=[LayerSpec(cls, **kwargs) for cls, kwargs in parts.layers],
        topology=grid,
        loss_fn=parts.loss_fn,
        partition_method=config["partition"],
    )
    engine, _, _, _ = deepspeed.initialize(
        model=module,
        optimizer=parts.make_optimizer([p for p in module.parameters() if p.requires_grad]),
        config=ds_config(parts.batch_size, m, dp, config["zero_stage"]),
    )

    start, history = 0, []  # history: every report so far (rank 0 keeps it in its checkpoints)
    if restore_dir is not None:
        _, client_state = engine.load_checkpoint(restore_dir)  # the tag named in its 'latest' file
        start = int(client_state["step"])
        history = read_history(restore_dir) if rank == 0 else []

    tokens = parts.batch_size * parts.tokens_per_sample  # per step, all data-parallel ranks together
    micro_size = parts.batch_size // (m * dp)
    every = config["checkpoint_every"] or cfg.eval_every
    window: list[float] = []  # step times since the last report
    for step in range(start, cfg.steps):
        inputs, labels = parts.batch(cfg.seed, step)  # (B, T) each: the whole mini-batch
        batches = rank_micro_batches(inputs, labels, m, dp, data_rank)
        began = time.perf_counter()
        loss = engine.train_batch(data_iter=iter(batches))
        window.append(time.perf_counter() - began)
        done = step + 1
        evaluate = done % cfg.eval_every == 0 or done == cfg.steps
        save = done % every == 0 or done == cfg.steps
        if not (evaluate or save or done % config["report_every"] == 0):
            continue  # the same decision on every rank: all must call report equally often
        metrics = {
            "step": done,
            "train/loss": float(loss.item()),
            "train/step_time_s": sum(window) / len(window),
            "train/tokens_per_s": tokens * len(window) / sum(window),
            "resumed_from": start,
        }
        window = []
        if evaluate:
            metrics["val/loss"] = _evaluate(engine, parts, micro_size, dp, data_rank)
        history.append(metrics)
        if save:
            with tempfile.TemporaryDirectory() as folder:
                engine.save_checkpoint(folder, tag=f"step{done:06d}", client_state={"step": done})
                if rank == 0:
                    Path(folder, HISTORY).write_text("".join(json.dumps(row) + "\n" for row in history))
                report(metrics, folder)
        else:
            report(metrics, None)


def train_loop(config: dict[str, Any]) -> None:
    """The per-worker training function handed to ``TorchTrainer`` (``config`` from run_job)."""
    import ray.train

    def report(metrics: dict[str, Any], folder: str | None) -> None:
        if folder is None:
            ray.train.report(metrics)
            return
        ray.train.report(  # Ray Train merges the shards of all ranks into this one folder
            metrics,
            checkpoint=ray.train.Checkpoint.from_directory(folder),
            checkpoint_dir_name=f"checkpoint_step{int(metrics['step']):06d}",
        )

    rank = ray.train.get_context().get_world_rank()
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        run_rank(config, rank, report)
        return
    with checkpoint.as_directory() as folder:
        run_rank(config, rank, report, restore_dir=folder)


def _local_rank_main(rank: int, config: dict[str, Any], world: int, port: int, out: str) -> None:
    import json

    import torch.distributed as dist

    os.environ.update(
        {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank), "WORLD_SIZE": str(world),
         "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(world)}
    )  # fmt: skip
    dist.init_process_group("gloo", rank=rank, world_size=world)
    reports: list[dict[str, Any]] = []
    run_rank(config, rank, lambda metrics, folder: reports.append(dict(metrics)))
    dist.destroy_process_group()
    if rank == 0:
        with open(out, "w") as f:
            json.dump(reports, f)


def run_local(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the pipeline as plain local processes over gloo, without Ray (benchmarks, machines
    without Ray); returns rank 0's reports. No checkpoint is kept and nothing is retried."""
    import json
    import socket

    import torch.multiprocessing as mp

    world = config["stages"] * config["data_parallel"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "reports.json")
        mp.start_processes(_local_rank_main, args=(config, world, port, out), nprocs=world, start_method="spawn")
        with open(out) as f:
            return json.load(f)
