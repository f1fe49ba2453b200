"""Bad input, fuzzed (issue #18): ``seqlab validate`` and the claims' expression grammar.

Hypothesis mutates the shipped sweep, claim and job files (keys deleted, renamed, added; values of
the wrong type, odd strings, unicode, huge numbers, NaN and infinity; nesting changed; the text
truncated, tabbed, bracketed, made invalid UTF-8) and draws documents of the schema's shape. The
properties: ``seqlab validate FILE`` exits 0 or 2, never with a traceback, and every error is one
line naming a key or a line; an expectation string parses or raises :class:`ExprError` that quotes
what is wrong, and a parsed expectation evaluates without raising on any values (NaN included).

Each input that once broke a property is kept below as an ``@example`` or a plain test.

CI runs a fixed, derandomized budget (about 100 examples per property, well under 60 s). To fuzz
harder, raise it and let Hypothesis pick fresh inputs::

    SEQLAB_FUZZ_EXAMPLES=5000 SEQLAB_FUZZ_RANDOM=1 pytest -m chaos tests/orchestrator/test_fuzz.py

Left out on purpose: a job's ``config`` gets no huge numbers, because gpipe's ``pipeline()`` lists
``n_layers`` layer specs and ``n_layers: 10**18`` never finishes validating (workloads/gpipe).
"""

from __future__ import annotations

import copy
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from orchestrator.claims import ClaimSpec, judge, load_claim
from orchestrator.cli import app
from orchestrator.expr import STATS, ExprError, check, parse
from orchestrator.job_spec import JobSpec
from orchestrator.registry import names as workload_names
from orchestrator.spec import SweepSpec
from orchestrator.yamlio import read_yaml

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = sorted((ROOT / "sweeps").glob("*.yaml"))
CLAIMS = sorted((ROOT / "sweeps" / "claims").glob("*.yaml"))
JOBS = sorted((ROOT / "sweeps" / "jobs").glob("*.yaml"))
SHIPPED = SWEEPS + CLAIMS + JOBS

FUZZ = settings(
    max_examples=int(os.environ.get("SEQLAB_FUZZ_EXAMPLES", "100")),
    deadline=None,
    derandomize=not os.environ.get("SEQLAB_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
RUNNER = CliRunner()


# -- the properties ----------------------------------------------------------------------------
def _field_names(model: Any, seen: set | None = None) -> set[str]:
    """Every key any level of a spec model accepts (for messages of checks between fields)."""
    from typing import get_args

    from pydantic import BaseModel

    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    out = set(model.model_fields)
    for field in model.model_fields.values():
        todo = [field.annotation]
        while todo:
            t = todo.pop()
            todo.extend(get_args(t))
            if isinstance(t, type) and issubclass(t, BaseModel):
                out |= _field_names(t, seen)
    return out


KEYS = _field_names(SweepSpec) | _field_names(ClaimSpec) | _field_names(JobSpec)


LOCATED = re.compile(
    r":\d+(:\d+)?: "  # file:LINE: or file:LINE:COLUMN:
    r"|: missing required key '[^']+'"  # a top-level key the file lacks: no line to give
    r"|: expected a mapping of \w+ keys at the top level"  # an empty file, a list, a scalar
)


def names_key_or_line(message: str, path: Path) -> bool:
    """The error says where: ``file:LINE:``, or (when the file has no line for it) the key it lacks."""
    rest = message.removeprefix("seqlab: ").removeprefix(str(path))
    if LOCATED.match(rest):
        return True
    lead = re.match(r": \(top level\): (\w+)|: (\w+)", rest)  # a check between keys that are not in the file
    return bool(lead) and (lead[1] or lead[2]) in KEYS


def validate(folder: Path, content: str | bytes) -> tuple[int, str]:
    """Write ``content`` as a YAML file, run ``seqlab validate`` on it and check the properties."""
    path = folder / "fuzzed.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    result = RUNNER.invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        message = result.stderr.rstrip("\n")
        assert message.startswith("seqlab: "), message
        assert len(message.splitlines()) == 1, f"error is not one line: {message!r}"
        assert names_key_or_line(message, path), f"error names no key or line: {message!r}"
        return 2, message
    return 0, result.stdout


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- values and mutations ----------------------------------------------------------------------
ODD_STRINGS = [
    "", " ", "\t", "1e-4", "10m", "0s", "-1h", "1.5x", "nan", ".inf", "-.inf", "yes", "No", "~", "null",
    "💥", "ＡＢＣ", "é", "a\tb", "'", '"', "{", "[", "]", "::", "- x", "&a", "*a", "!!int", "%YAML", "`",
    "2026-13-45", "0x1F", "0o17", "1_000", "x" * 300, "../../etc/passwd", "mean(s6", "\u202e", "\ufeff",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=12),
)
ODD_VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 3)), SCALARS, max_size=2),
)
ODD_KEYS = st.one_of(
    st.sampled_from(sorted(KEYS)), st.sampled_from(ODD_STRINGS), st.text(max_size=8), st.integers(-2, 2),
    st.none(), st.booleans(),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path of keys/indices into a loaded document (the root is ``()``)."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, prefix + (index,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _mutate(data: Any, draw, no_huge_under: tuple | None) -> Any:
    """One random structural mutation of ``data`` (a copy is changed and returned)."""
    data = copy.deepcopy(data)
    path = draw(st.sampled_from(_paths(data)))
    op = draw(st.sampled_from(["delete", "replace", "rename", "add", "wrap_list", "wrap_dict", "unwrap", "number"]))
    if not path:  # the whole document
        return draw(st.one_of(ODD_VALUES, st.just([data]), st.just({"doc": data})))
    parent, last = _get(data, path[:-1]), path[-1]
    value = parent[last]
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = draw(ODD_VALUES)
    elif op == "rename" and isinstance(parent, dict):
        new = draw(ODD_KEYS)
        parent[new] = parent.pop(last)
    elif op == "add":
        target = value if isinstance(value, (dict, list)) else parent
        if isinstance(target, dict):
            target[draw(ODD_KEYS)] = draw(ODD_VALUES)
        else:
            target.append(draw(ODD_VALUES))
    elif op == "wrap_list":
        parent[last] = [value]
    elif op == "wrap_dict":
        parent[last] = {draw(ODD_KEYS): value}
    elif op == "unwrap" and isinstance(value, (dict, list)) and value:
        parent[last] = next(iter(value.values())) if isinstance(value, dict) else value[0]
    else:
        huge = no_huge_under is None or path[: len(no_huge_under)] != no_huge_under
        numbers = [0, -1, 1, 0.5, -0.0, math.nan, math.inf, -math.inf, 1e308, 5e-324, True]
        parent[last] = draw(st.sampled_from(numbers + ([10**18, -(10**18), 10**100] if huge else [10**6])))
    return data


def _load(path: Path) -> Any:
    data, _ = read_yaml(path)
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=4096)


@st.composite
def mutated_files(draw, files: list[Path]) -> str:
    path = draw(st.sampled_from(files))
    data = _load(path)
    # gpipe's pipeline() lists config.n_layers layers: a job with n_layers 10**18 never validates
    # (workloads/gpipe, outside this issue), so a job's config gets no huge numbers
    no_huge = ("config",) if path in JOBS else None
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(data, draw, no_huge)
    return _dump(data)


TEXT_ODDITIES = ["\t", "  ", "[", "]", "{", "}", ":", ": ", ",", "-", "- ", "#", "&", "*", "!", "|", ">", "'", '"',
                 "%", "@", "`", "?", "\n", "\r", "\x00", "\x07", "\x85", "\u2028", "\ufeff", "💥", "é", "---", "...",
                 "<<: *a", "!!python/object:os.system", "&a ", "*b"]


@st.composite
def broken_texts(draw) -> str | bytes:
    text = draw(st.sampled_from(SHIPPED)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        op = draw(st.sampled_from(["truncate", "insert", "tab_indent", "drop_line", "dup_line", "swap_lines", "unicode", "bytes"]))
        at = draw(st.integers(0, len(text)))
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        if op == "truncate":
            text = text[:at]
        elif op == "insert":
            text = text[:at] + draw(st.sampled_from(TEXT_ODDITIES)) + text[at:]
        elif op == "tab_indent":
            lines[i] = "\t" + lines[i].lstrip(" ")
            text = "".join(lines)
        elif op == "drop_line":
            del lines[i]
            text = "".join(lines)
        elif op == "dup_line":  # a duplicated key, or a list item twice
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif op == "swap_lines":
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        elif op == "unicode":
            text = text[:at] + draw(st.text(min_size=1, max_size=4)) + text[at:]
        else:  # raw bytes: a Latin-1 file, a stray byte
            raw = text.encode("utf-8", "surrogatepass")
            return raw[:at] + draw(st.binary(min_size=1, max_size=3)) + raw[at:]
    return text


# -- documents of the schema's shape -------------------------------------------------------------
def from_schema(schema: dict, defs: dict, depth: int = 0) -> st.SearchStrategy:
    """Documents shaped like a JSON Schema (with odd values mixed in at every level)."""
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth))
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return st.one_of([from_schema(option, defs, depth) for option in options])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object" and depth < 4:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        extra = schema.get("additionalProperties")
        if props:
            shaped = st.fixed_dictionaries(
                {k: _prop(k, v, defs, depth) for k, v in props.items() if k in required},
                optional={k: _prop(k, v, defs, depth) for k, v in props.items() if k not in required},
            )
            return st.one_of(shaped, shaped, shaped, shaped.map(lambda d: {**d, "unknown_key": 1}))
        if isinstance(extra, dict):
            return st.dictionaries(st.text(max_size=8), from_schema(extra, defs, depth + 1), max_size=3)
        return st.dictionaries(st.text(max_size=8), SCALARS, max_size=3)
    if kind == "array" and depth < 4:
        return st.lists(from_schema(schema.get("items", {}), defs, depth + 1), max_size=4)
    if kind == "string":
        return st.one_of(st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"), st.sampled_from(ODD_STRINGS), st.text(max_size=8))
    if kind == "integer":
        low, high = schema.get("minimum", schema.get("exclusiveMinimum", -5)), schema.get("maximum", 10**6)
        return st.one_of(st.integers(int(low), int(high)), st.integers())
    if kind == "number":
        return st.one_of(st.floats(0, 100), st.floats())
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return ODD_VALUES


WORKLOADS = workload_names()
EXPECTATIONS = sorted({text for path in CLAIMS for text in [*_load(path)["expect"], *_load(path).get("sanity", [])]})


def _prop(key: str, schema: dict, defs: dict, depth: int) -> st.SearchStrategy:
    """A key's value; a workload is usually a real one, an expectation usually a shipped one."""
    if key == "workload":
        return st.one_of(st.sampled_from(WORKLOADS), from_schema(schema, defs, depth + 1))
    if key in ("expect", "sanity"):
        return st.one_of(st.lists(st.sampled_from(EXPECTATIONS), min_size=1, max_size=3), from_schema(schema, defs, depth + 1))
    return from_schema(schema, defs, depth + 1)


def schema_documents(model: type) -> st.SearchStrategy:
    schema = model.model_json_schema()
    return from_schema(schema, schema.get("$defs", {}))


# -- validate: mutated shipped files -------------------------------------------------------------
def test_every_shipped_file_validates(folder):
    for path in SHIPPED:
        code, out = validate(folder, path.read_bytes())
        assert code == 0, f"{path.name}: {out}"


@FUZZ
@given(text=mutated_files(SWEEPS))
def test_mutated_sweeps_exit_0_or_2_with_a_located_error(folder, text):
    validate(folder, text)


@FUZZ
@given(text=mutated_files(CLAIMS))
def test_mutated_claims_exit_0_or_2_with_a_located_error(folder, text):
    validate(folder, text)


@FUZZ
@given(text=mutated_files(JOBS))
def test_mutated_jobs_exit_0_or_2_with_a_located_error(folder, text):
    validate(folder, text)


# Each of these broke the property before orchestrator/yamlio.py was fixed (a traceback, or an
# error on two lines without a line number).
BROKE_VALIDATE = [
    pytest.param("name: 2026-13-45\n", ":1:7: malformed YAML: cannot read '2026-13-45' as timestamp", id="impossible-date"),
    pytest.param("name: !!int abc\n", ":1:7: malformed YAML: cannot read 'abc' as int", id="bad-int-tag"),
    pytest.param("name: " + "1" * 5000 + "\n", ":1:7: malformed YAML: cannot read", id="int-of-5000-digits"),
    pytest.param("name: x\nworkload: " + "[" * 3000 + "\n", ":2: malformed YAML: nested too deeply", id="deep-nesting"),
    pytest.param("name: x\x01\n", ":1: malformed YAML: character #x0001", id="control-character"),
    pytest.param(b"name: x\nworkload: caf\xe9\n", ":2: not UTF-8 text (byte 0xe9)", id="latin-1-byte"),
]
# ... and these were errors that named no key or line (``fuzzed.yaml: 0: Keys should be strings``).
QUICKSTART = (ROOT / "sweeps" / "quickstart.yaml").read_text(encoding="utf-8")
BROKE_VALIDATE += [
    pytest.param(QUICKSTART + "false: [100, 101, 102]\n", ":18: key 'False' is not a string", id="boolean-top-level-key"),
    pytest.param(QUICKSTART.replace("  sparsity:", "  ~:"), ":12: key 'None' under 'parameters' is not a string", id="null-parameter-name"),
    pytest.param(QUICKSTART.replace("  sparsity:", "  1.5:"), ":12: key '1.5' under 'parameters' is not a string", id="number-parameter-name"),
]


@pytest.mark.parametrize("content,error", BROKE_VALIDATE)
def test_inputs_that_once_crashed_validate_are_located_errors(folder, content, error):
    code, message = validate(folder, content)
    assert code == 2
    assert error in message


@FUZZ
@given(content=broken_texts())
@example(content="name: 2026-13-45\n")
@example(content=b"name: caf\xe9\n")
def test_broken_yaml_text_exits_0_or_2_with_a_located_error(folder, content):
    validate(folder, content)


MAMBA_CLAIM = (ROOT / "sweeps" / "claims" / "mamba.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("content,error", [
    # was ": (top level): cannot read '!' in ..." (neither the list nor the line)
    pytest.param(MAMBA_CLAIM.replace('"mean(lti) <= 0.60"', '"mean(lti) <=! 0.60"'), ":35: expect.1: cannot read '!", id="bad-expectation"),
    # was ": (top level): expect: ... (arms: \n)" on two lines
    pytest.param(MAMBA_CLAIM.replace("  s6:  ", '  "\\n":'), ":33: expect: expectation 'mean(s6) >= 0.90' names unknown arm(s) s6", id="newline-arm"),
    # was ": (top level): arms must name at least one arm"
    pytest.param(re.sub(r"arms:\n(  .*\n)+", "arms: {}\n", MAMBA_CLAIM), ":29: arms must name at least one arm", id="no-arms"),
    pytest.param(QUICKSTART.replace("n_train: 5000", "n_train: 5000, lr: 0.1"), ":14: fixed.lr: lr is both searched", id="searched-and-fixed"),
])
def test_checks_between_keys_name_the_key_and_its_line(folder, content, error):
    code, message = validate(folder, content)
    assert code == 2
    assert error in message


def test_broken_yaml_names_the_line_and_column(folder):
    code, message = validate(folder, "name: x\nworkload: [ar_net\n")
    assert code == 2
    assert re.search(r"fuzzed\.yaml:3:1: malformed YAML", message), message


# -- validate: documents of the schema's shape ----------------------------------------------------
@FUZZ
@given(data=schema_documents(SweepSpec))
def test_schema_shaped_sweeps_exit_0_or_2_with_a_located_error(folder, data):
    validate(folder, _dump(data))


@FUZZ
@given(data=schema_documents(ClaimSpec))
@example(data={"name": "a", "paper": "a", "metric": "", "arms": {"\n": {"workload": "ar_net"}}, "expect": ["mean(x) > 0"]})
def test_schema_shaped_claims_exit_0_or_2_with_a_located_error(folder, data):
    validate(folder, _dump(data))


@FUZZ
@given(data=schema_documents(JobSpec).filter(lambda d: not isinstance(d.get("config", {}).get("n_layers"), int) or d["config"]["n_layers"] < 10**6))
def test_schema_shaped_jobs_exit_0_or_2_with_a_located_error(folder, data):
    validate(folder, _dump(data))


# -- the expression grammar -----------------------------------------------------------------------
GRAMMAR_CHARS = "0123456789.eE+-*/()<>=,' \"\tabsmeanstdminmaxs6lti_"


@st.composite
def mutated_expectations(draw) -> str:
    text = draw(st.sampled_from(EXPECTATIONS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "insert", "truncate", "double"]))
        if op == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 4)):]
        elif op == "insert":
            token = draw(st.one_of(st.sampled_from(["(", ")", "-", "+", "*", "/", ">=", "==", "<", ",", "'", "abs(", "mean(",
                                                    "1e999", ".", "e", "__import__", "\\", "💥", "\x00"]), st.text(max_size=3)))
            text = text[:at] + token + text[at:]
        elif op == "truncate":
            text = text[:at]
        else:
            text = text + text
    return text


def _parses_or_says_what(text: str) -> None:
    try:
        exp = parse(text)
    except ExprError as err:
        message = str(err)
        assert "\n" not in message.replace(repr(text), ""), message
        assert re.search(r"'[^']*'|\"[^\"]*\"", message), f"error quotes nothing: {message!r}"
        return
    assert exp.op in ("<", "<=", ">", ">=", "==")
    holds, _, _, problem = check(exp, {}, "val/acc")  # no results: a problem, not an exception
    assert problem is not None or not exp.arms()


NESTED = "(" * 400 + "mean(s6)" + ")" * 400 + " > 0"


@FUZZ
@given(text=st.one_of(st.text(), st.text(alphabet=GRAMMAR_CHARS), mutated_expectations()))
@example(text=NESTED)  # RecursionError before the nesting limit
@example(text="-" * 3000 + "1 > 0")  # the same, through leading minus signs
@example(text="abs(" * 150 + "1" + ")" * 150 + " > 0")
def test_any_string_parses_or_raises_expr_error(text):
    _parses_or_says_what(text)


def test_deep_nesting_is_an_expr_error_that_says_so():
    with pytest.raises(ExprError, match="nested more than 100 deep"):
        parse(NESTED)
    assert parse("(" * 100 + "mean(s6)" + ")" * 100 + " > 0").arms() == {"s6"}


# Expectations built from the grammar, and values a run can report (NaN from a diverged seed).
ARMS = ["s6", "lti", "induction"]
ATOMS = st.one_of(
    st.floats(0, 1e6).map(lambda x: f"{x!r}"),
    st.sampled_from(["0", "1e-3", "1e999", ".5"]),
    st.builds(lambda fn, arm: f"{fn}({arm})", st.sampled_from(sorted(STATS)), st.sampled_from(ARMS)),
    st.builds(lambda fn, arm: f"{fn}({arm}, 'val/loss')", st.sampled_from(sorted(STATS)), st.sampled_from(ARMS)),
)
SUMS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from("+-*/"), inner),
        inner.map(lambda a: f"({a})"),
        inner.map(lambda a: f"abs({a})"),
        inner.map(lambda a: f"-{a}"),
    ),
    max_leaves=8,
)
GRAMMAR_EXPECTATIONS = st.builds(lambda a, op, b: f"{a} {op} {b}", SUMS, st.sampled_from(["<", "<=", ">", ">=", "=="]), SUMS)
SERIES = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 0.0])), max_size=4)
VALUES = st.dictionaries(st.sampled_from(ARMS), st.fixed_dictionaries({}, optional={"val/acc": SERIES, "val/loss": SERIES}))


@FUZZ
@given(text=GRAMMAR_EXPECTATIONS, values=VALUES)
@example(text="std(s6) >= 0", values={"s6": {"val/acc": [math.nan, 1.0]}})  # AttributeError in statistics.stdev
@example(text="mean(s6) >= 0", values={"s6": {"val/acc": [1e308, 1e308]}})  # OverflowError in statistics.fmean
@example(text="std(s6) >= 0", values={"s6": {"val/acc": [math.inf, 1.0]}})
def test_grammar_expectations_parse_and_check_never_raises(text, values):
    exp = parse(text)
    assert exp.arms() <= set(ARMS)
    holds, left, right, problem = check(exp, values, "val/acc")
    assert isinstance(holds, bool)
    if problem is None:
        assert isinstance(left, float) and isinstance(right, float)
    else:
        assert not holds and problem


def test_a_diverged_seed_fails_the_expectation_with_a_reason():
    holds, _, _, problem = check(parse("std(s6) < 0.1"), {"s6": {"val/acc": [0.9, math.nan]}}, "val/acc")
    assert not holds
    assert "non-finite 'val/acc'" in problem and "nan" in problem


@FUZZ
@given(path=st.sampled_from(CLAIMS), values=VALUES, failed=st.lists(st.sampled_from(["s6 seed 0 failed"]), max_size=1))
@example(path=CLAIMS[0], values={"s6": {"val/acc": [8.988465674311579e307, 8.98846567431158e307]}}, failed=[])  # fsum overflow
@example(path=CLAIMS[0], values={"s6": {"val/acc": [math.nan, 1.0]}}, failed=[])
def test_judging_a_shipped_claim_on_any_values_gives_a_verdict(path, values, failed):
    spec, _ = load_claim(path, check_workloads=False)
    arms = list(spec.arms)
    renamed = {  # the fuzzed arms and metrics as the claim's own
        arms[ARMS.index(arm) % len(arms)]: {spec.metric if m == "val/acc" else m: v for m, v in series.items()}
        for arm, series in values.items()
    }
    result = judge(spec, renamed, failed, 1.0)
    assert result.verdict in ("PASS", "FAIL", "INCOMPLETE")
    if result.verdict != "PASS":
        assert result.reason
    for arm in arms:  # what the board shows: mean, std, seeds
        summary = result.summary(arm)
        assert summary is None or summary[2] == len(renamed[arm][spec.metric])


def test_a_diverged_seed_shows_as_nan_on_the_board():
    spec, _ = load_claim(ROOT / "sweeps" / "claims" / "mamba.yaml", check_workloads=False)
    result = judge(spec, {"s6": {"val/acc": [0.9, math.nan, 1.0]}}, [], 1.0)
    mean, std, n = result.summary("s6")  # raised AttributeError inside statistics.stdev
    assert math.isnan(mean) and math.isnan(std) and n == 3
