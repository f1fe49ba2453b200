"""Which searched parameters mattered: Optuna's importance evaluators over a sweep's trials.

The trials are read back from MLflow (see :mod:`orchestrator.compare`) and replayed into an
in-memory Optuna study with the sweep's own distributions, so the figure is the one Optuna's
dashboard would draw for the same trials. fANOVA (Optuna's default evaluator, a seeded random
forest) is used; Optuna's PED-ANOVA where fANOVA cannot run.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

MIN_TRIALS = 4


def importances(
    trials: Sequence[Any], metric: str, mode: str, declared: Mapping[str, Any], seed: int = 0
) -> tuple[dict[str, float], str]:
    """(parameter -> importance, summing to 1, largest first; the evaluator's name), or
    ``({}, reason)`` when there is too little to say anything.

    ``trials`` carry ``params``, ``metrics`` and ``status`` (:class:`orchestrator.compare.Trial`);
    ``declared`` is the sweep file's ``parameters`` block (only those are searched parameters);
    each one's distribution is the search's own (:func:`orchestrator.search.distributions`).
    """
    import optuna

    done = [t for t in trials if t.status in ("completed", "finished") and math.isfinite(t.metrics.get(metric, math.nan))]
    varied = [p for p in declared if len({repr(t.params.get(p)) for t in done if p in t.params}) > 1]
    if len(done) < MIN_TRIALS:
        return {}, f"{len(done)} completed trials report {metric}: importances need at least {MIN_TRIALS}"
    if len(varied) < 2:
        return {}, f"{len(varied)} searched parameter(s) varied: importances compare at least 2"
    known = sweep_distributions(declared)
    distributions = {p: known.get(p) or _spanning([t.params[p] for t in done if p in t.params]) for p in varied}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize")
    for t in done:
        if all(p in t.params for p in varied):
            params = {p: _cast(distributions[p], t.params[p]) for p in varied}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=t.metrics[metric]))
    for name, evaluator in _evaluators(seed):
        try:
            found = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
        except (ImportError, RuntimeError, ValueError):
            continue
        return {k: float(v) for k, v in sorted(found.items(), key=lambda kv: -kv[1])}, name
    return {}, "no Optuna importance evaluator could run on these trials"


def _evaluators(seed: int) -> list[tuple[str, Any]]:
    from optuna import importance

    found = [(f"fANOVA (Optuna, seed {seed})", importance.FanovaImportanceEvaluator(seed=seed))]
    if hasattr(importance, "PedAnovaImportanceEvaluator"):
        found.append(("PED-ANOVA (Optuna)", importance.PedAnovaImportanceEvaluator()))
    return found


def sweep_distributions(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The Optuna distributions the search drew from, for a sweep file's ``parameters`` block.

    Parsed as ``seqlab run`` parses it; a block that no longer validates (a sweep logged by an
    older Seqlab) gives ``{}``, and each parameter's range is then taken from what was seen.
    """
    from types import SimpleNamespace

    from pydantic import TypeAdapter, ValidationError

    from orchestrator.search import distributions
    from orchestrator.spec import SweepSpec

    block = TypeAdapter(SweepSpec.model_fields["parameters"].annotation)  # the sweep file's own parameter types
    try:
        return distributions(SimpleNamespace(parameters=block.validate_python(dict(parameters))))
    except ValidationError:
        return {}


def _spanning(seen: list[Any]) -> Any:
    """A distribution spanning the values seen: numbers as a float range, else the choices."""
    import optuna.distributions as od

    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return od.FloatDistribution(float(min(seen)), float(max(seen)))
    return od.CategoricalDistribution(sorted({str(v) for v in seen}))


def _cast(distribution: Any, value: Any) -> Any:
    """``value`` as read back from MLflow (a string made a number) in the distribution's terms."""
    import optuna.distributions as od

    if isinstance(distribution, od.FloatDistribution):
        return float(value)
    if isinstance(distribution, od.IntDistribution):
        return int(value)
    for choice in distribution.choices:  # MLflow keeps params as text: match the choice it came from
        if choice == value or str(choice) == str(value):
            return choice
    return value
