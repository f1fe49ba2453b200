"""Order Matters: Sequence to sequence for sets (Vinyals, Bengio and Kudlur 2016): toy scale.

Sorting N uniform floats with a pointer decoder: a Read-Process-Write encoder is permutation
invariant by construction and improves with process steps; and on an output-set task (the k
largest numbers) a fixed output order trains better than a random one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(800, ge=1, description="Adam steps (catalogue: 3000).")
    eval_every: int = Field(200, ge=1, description="Evaluate and report every this many steps.")
    task: Literal["sort", "topk"] = Field("sort", description="'sort' all n numbers, or output the set of the k largest.")
    encoder: Literal["rpw", "lstm"] = Field("rpw", description="'rpw' Read-Process-Write, or 'lstm' Ptr-Net reading the set in the given order.")
    process_steps: int = Field(5, ge=0, description="RPW process steps P.")
    order: Literal["fixed", "random"] = Field("fixed", description="topk target order: descending value, or a fresh random order per example.")
    n: int = Field(5, ge=2, description="Set size N (catalogue: 5 and 10; the claim sorts and takes the top k of 10).")
    k: int = Field(4, ge=1, description="Size of the output set for task 'topk' (at most n).")
    mask_chosen: bool = Field(False, description="Mask elements already pointed at (off, as in the paper; on makes sorting trivial).")
    hidden: int = Field(64, ge=4, description="Width of memories and LSTMs.")
    batch: int = Field(128, ge=1, description="Sets per step.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate (the peak, with schedule 'cosine').")
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="Learning rate over training: 'constant', or a half cosine from lr down to 0 at steps."
    )
    eval_size: int = Field(1000, ge=1, description="Test sets.")
    perm_inputs: int = Field(100, ge=1, description="Test sets used in the permutation check.")
    n_perms: int = Field(10, ge=1, description="Random permutations of each in the permutation check.")

    @model_validator(mode="after")
    def _k_fits(self) -> "Config":
        if self.task == "topk" and self.k > self.n:
            raise ValueError(f"k ({self.k}) must be at most n ({self.n}) for task 'topk'")
        return self


def build(cfg: Config, device: str):
    """An OrderMatters run on CPU."""
    from workloads.order_matters.trainer import OrderMatters

    return OrderMatters(cfg)


WORKLOAD = WorkloadDef(
    name="order_matters",
    title="Order Matters: Sequence to sequence for sets",
    arxiv="1511.06391",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Read-Process-Write vs Ptr-Net on sorting; fixed vs random output order for sets.",
)
