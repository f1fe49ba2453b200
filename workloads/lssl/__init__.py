"""LSSL (Gu et al. 2021) at toy scale: permuted sequential sklearn digits (L = 144).

A 2-layer LSSL with a fixed dense A (:class:`workloads.nn.lssl.LSSL`: bilinear discretisation,
Krylov kernel, FFT convolution) initialised as HiPPO-LegS or as a random stable Gaussian,
against an LSTM, on 8 × 8 digits upsampled to 12 × 12 and read as a fixed random permutation of
their pixels. The LSSL arms also report ``val/view_gap``: max |conv − recurrent| of the first
layer's SSM on two test images.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(250, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(250, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["lssl", "lstm"] = Field("lssl", description="Sequence classifier: LSSL stack or LSTM.")
    init: Literal["legs", "random"] = Field("legs", description="LSSL's fixed A: HiPPO-LegS or random stable Gaussian.")
    side: int = Field(12, ge=8, description="Digits are upsampled to side × side; sequence length side² (the paper-plan L = 256 is side 16).")
    permute: bool = Field(True, description="Read the pixels in one fixed random order (permuted task).")
    H: int = Field(32, ge=1, description="LSSL channels.")
    N: int = Field(64, ge=1, description="LSSL state size per channel.")
    layers: int = Field(2, ge=1, description="LSSL blocks or LSTM layers.")
    dt_min: float = Field(1.0e-3, gt=0, description="Smallest initial Δ (log-uniform).")
    dt_max: float = Field(1.0e-1, gt=0, description="Largest initial Δ (log-uniform).")
    lstm_hidden: int = Field(96, ge=1, description="LSTM hidden size.")
    lstm_init: Literal["default", "unit_forget", "chrono"] = Field(
        "unit_forget",
        description="LSTM gate biases: PyTorch's default; unit_forget (forget bias 1, Jozefowicz et al. 2015); or chrono "
        "(Tallec & Ollivier 2018: forget bias log U(1, T − 1), input bias its negative, T = side²).",
    )
    lr: float = Field(1.0e-2, gt=0, description="AdamW peak learning rate (cosine decay to 0 over steps).")
    clip: float = Field(1.0, gt=0, description="Gradient-norm clip of every step.")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    eval_size: int = Field(397, ge=1, description="Test images evaluated (of the 397 held out).")
    check_views: bool = Field(True, description="LSSL: report val/view_gap (max |conv − recurrent| on 2 test images).")


def build(cfg: Config, device: str):
    """A permuted-digits run on ``device``."""
    from workloads.lssl.trainer import DigitsRun

    return DigitsRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="lssl",
    title="Combining Recurrent, Convolutional, and Continuous-time Models with Linear State-Space Layers",
    arxiv="2110.13985",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Permuted sequential digits (L = 144): HiPPO-LegS LSSL vs random-A LSSL vs LSTM; conv = recurrent view.",
)
