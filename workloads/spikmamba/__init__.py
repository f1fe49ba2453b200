"""SpikMamba (Chen et al. 2024) at toy scale: spiking Mamba on synthetic event-camera gestures.

LIF spiking stem and spiking Mamba blocks (:mod:`workloads.nn.spiking`,
:mod:`workloads.nn.ssm`) against a spiking CNN with temporal mean-pooling and the same Mamba
model without spikes, on event streams of one-turn gestures (:mod:`workloads.spikmamba.gestures`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(300, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(100, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["spikmamba", "ann_mamba", "scnn"] = Field(
        "spikmamba", description="Spiking Mamba, its non-spiking twin, or the spiking CNN baseline."
    )
    d_model: int = Field(32, ge=1, description="Token width d (stem output channels).")
    stem_channels: int = Field(16, ge=1, description="Channels of the stem's first conv.")
    layers: int = Field(2, ge=1, description="Mamba blocks.")
    d_state: int = Field(16, ge=1, description="Mamba state size N per channel.")
    tau: float = Field(0.5, gt=0, le=1, description="LIF membrane decay per frame.")
    v_th: float = Field(1.0, gt=0, description="LIF firing threshold.")
    alpha: float = Field(4.0, gt=0, description="Surrogate-gradient slope.")
    surrogate: Literal["sigmoid", "atan"] = Field("sigmoid", description="Surrogate derivative of the spike.")
    frames: int = Field(16, ge=2, description="Time bins T per clip (even: two strokes of T/2).")
    size: int = Field(16, ge=8, description="Sensor side S in pixels (multiple of 4).")
    task: Literal["turns", "order"] = Field(
        "turns",
        description="turns: one-turn paths, class in shape and order (workloads/spikmamba/gestures.py); order: the "
        "2026-11-28 redesign, disconnected strokes whose classes differ only in order (workloads/tasks/event_gestures.py).",
    )
    noise: float = Field(0.005, ge=0, le=1, description="Background event probability per pixel, polarity and frame.")
    contrast: float = Field(1.0, gt=0, description="turns: the gesture blob's peak brightness over a background of 0.1.")
    distractors: int = Field(0, ge=0, description="turns: label-free blobs drifting in a straight line across the sensor.")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate (cosine decay to 5%).")
    batch: int = Field(32, ge=1, description="Clips per step.")
    eval_batch: int = Field(512, ge=1, description="Held-out clips.")

    @model_validator(mode="after")
    def _task_knobs(self) -> "Config":
        if self.task == "order" and (self.contrast != 1.0 or self.distractors):
            raise ValueError("contrast and distractors apply to task: turns only (task: order has neither)")
        if self.frames % 2:
            raise ValueError(f"frames must be even (two strokes of frames/2), got {self.frames}")
        if self.size % 4:
            raise ValueError(f"size must be a multiple of 4 (two 2x2 pools), got {self.size}")
        return self


def build(cfg: Config, device: str):
    """An event-gesture classification run on ``device``."""
    from workloads.spikmamba.trainer import EventRun

    return EventRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="spikmamba",
    title="SpikMamba: When SNN meets Mamba in Event-based Human Action Recognition",
    arxiv="2410.16746",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Synthetic event gestures: spiking Mamba vs spiking CNN and non-spiking Mamba, with firing rate.",
)
