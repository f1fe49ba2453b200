"""Every third-party module the package imports is declared in pyproject.toml.

A module that is installed only because something else pulled it in works here and breaks on
the next release of that something; this reads every import in orchestrator/, workloads/ and
kernels/ and checks that its distribution is named in the project's dependencies.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"orchestrator", "workloads", "kernels"}


def imported_modules() -> dict[str, str]:
    """Top-level module name -> one file that imports it."""
    found: dict[str, str] = {}
    for package in sorted(OURS):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_normalise(re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]) for req in requirements}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_declared():
    owners = importlib.metadata.packages_distributions()
    declared = declared_distributions()
    undeclared = []
    for module, where in imported_modules().items():
        if module in OURS or module in sys.stdlib_module_names:
            continue
        distributions = {_normalise(d) for d in owners.get(module, [module])}
        if not distributions & declared:
            undeclared.append(f"{module} (imported in {where}; distribution {sorted(distributions)})")
    assert not undeclared, "imported but not declared in pyproject.toml: " + "; ".join(undeclared)


def test_the_check_sees_an_undeclared_module():
    # guard against a check that cannot fail: a module outside the declared set is reported
    assert "selenium" in declared_distributions()
    assert _normalise("scikit_learn") in declared_distributions()
    assert "left-pad" not in declared_distributions()
