"""The sweep spec mapped onto Optuna (samplers, distributions, study storage) and the settings
of a Ray Tune scheduler.

Optuna owns the search, Tune owns the scheduling; this module only translates, and builds no
Tune object (that is :mod:`orchestrator.sweep`'s job). Imports of optuna happen inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.spec import CategoricalParam, FloatParam, IntParam, SweepSpec


def distributions(spec: SweepSpec) -> dict[str, Any]:
    """Optuna distributions for the spec's parameters."""
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, p in spec.parameters.items():
        if isinstance(p, FloatParam):
            out[name] = od.FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, IntParam):
            out[name] = od.IntDistribution(p.low, p.high, step=p.step, log=p.log)
        elif isinstance(p, CategoricalParam):
            out[name] = od.CategoricalDistribution(p.values)
    return out


def ranges(spec: SweepSpec) -> dict[str, tuple]:
    """Each parameter's range as plain data, for Tune's own sampling (PBT's population and
    mutations): ``("float", low, high, log)``, ``("int", low, high, step)``, ``("categorical", values)``."""
    out: dict[str, tuple] = {}
    for name, p in spec.parameters.items():
        if isinstance(p, FloatParam):
            out[name] = ("float", p.low, p.high, p.log)
        elif isinstance(p, IntParam):
            out[name] = ("int", p.low, p.high, p.step)
        else:
            out[name] = ("categorical", list(p.values))
    return out


def sampler(spec: SweepSpec) -> Any:
    """The Optuna sampler the spec names, seeded with ``search.seed``."""
    import optuna.samplers as s

    seed = spec.search.seed
    name = spec.search.sampler
    if name == "tpe":
        multi = len(spec.objectives) > 1
        return s.TPESampler(seed=seed, multivariate=not multi, n_startup_trials=min(10, max(2, spec.search.num_trials // 4)))
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "grid":
        grid = {
            k: (p.values if isinstance(p, CategoricalParam) else list(range(p.low, p.high + 1, p.step)))
            for k, p in spec.parameters.items()
        }
        return s.GridSampler(grid, seed=seed)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed)
    if name == "qmc":
        return s.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"unknown sampler {name!r}")


def num_trials(spec: SweepSpec) -> int:
    """Trials to run: ``num_trials``, capped by the grid's size for the grid sampler."""
    if spec.search.sampler == "grid":
        return min(spec.search.num_trials, spec.grid_size())
    return spec.search.num_trials


def study_storage(sweep_dir: Path) -> Any:
    """The Optuna study's storage: a journal file ``<sweep_dir>/optuna.log``.

    Optuna's append-only journal: ``optuna-dashboard <sweep_dir>/optuna.log`` reads it, live or
    after the sweep, as it reads a database. Measured here it costs 2.5 ms per ask + tell against
    22 ms for a SQLite database (which the driver paid for every trial it proposed).
    """
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str((sweep_dir / "optuna.log").resolve())))


def scheduler_settings(spec: SweepSpec) -> tuple[str, dict[str, Any]] | None:
    """(Tune scheduler kind, its keyword arguments) for ``search.early_stopping``, or None.

    Time is counted in workload steps (the ``step`` every report carries), so ``grace_period``
    reads as "steps a trial runs before it may be stopped".
    """
    es = spec.search.early_stopping
    if es.type == "none":
        return None
    max_t = int(spec.fixed.get("steps", 0)) or None
    if es.type == "asha":
        kw = {"max_t": max_t} if max_t else {}
        return "asha", {"time_attr": "step", "grace_period": es.grace_period, "reduction_factor": es.reduction_factor, **kw}
    if es.type == "hyperband":
        return "hyperband", {"time_attr": "step", "max_t": max_t or 1000, "reduction_factor": es.reduction_factor}
    if es.type == "median":
        return "median", {"time_attr": "step", "grace_period": es.grace_period, "min_samples_required": 3}
    if es.type == "pbt":
        return "pbt", {"time_attr": "step", "perturbation_interval": es.perturbation_interval,
                       "quantile_fraction": es.quantile_fraction, "hyperparam_mutations": ranges(spec)}  # fmt: skip
    raise ValueError(f"unknown early_stopping type {es.type!r}")
