"""Safe YAML reading with positions, and one-line error messages that name key and line.

Used by every spec Seqlab reads (sweeps, claims, jobs). Floats such as ``1e-4`` (which YAML 1.1
reads as a string) are read as numbers.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

M = TypeVar("M")


class SpecError(ValueError):
    """A problem with a spec file; its message is one line that names the problem.

    ``key`` (a path of keys) lets :func:`locate` prefix the message with file and line.
    """

    def __init__(self, message: str, key: tuple[str, ...] = ()) -> None:
        super().__init__(_one_line(message))
        self.key = key


_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits at


def _one_line(message: str) -> str:
    """``message`` with the line breaks that a file's keys or values bring written as escapes."""
    return "".join(repr(c)[1:-1] if c in _LINE_BREAKS else c for c in message)


def locate(err: SpecError, source: str, text: str) -> SpecError:
    """The same error with ``source:line:`` in front, from the key path it carries."""
    lines = key_lines(text)
    for depth in range(len(err.key), 0, -1):
        line = lines.get(tuple(err.key[:depth]))
        if line:
            return SpecError(f"{source}:{line}: {err}")
    return SpecError(f"{source}: {err}")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-4 / 5E3 as floats."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # PyYAML's constructors let Python's own errors escape for scalars they cannot convert
        # (``2026-13-45`` read as a date, ``!!int abc``, an int of more than 4300 digits):
        # turn them into a YAML error that carries the node's line.
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as err:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {str(node.value)[:40]!r} as {node.tag.rsplit(':', 1)[-1]}: {err}", node.start_mark
            ) from None


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> tuple[Any, str]:
    """Data and text of a YAML file; :class:`SpecError` for a missing file or bad YAML."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such file")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a YAML file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise SpecError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8") from None
    return parse_yaml_text(text, str(path)), text


def parse_yaml_text(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise SpecError(f"{where}: malformed YAML: {err.problem or err.context}") from None
    except yaml.reader.ReaderError as err:  # a control character: no mark, only a position
        line = text.count("\n", 0, err.position) + 1
        raise SpecError(f"{source}:{line}: malformed YAML: character #x{err.character:04x} is not allowed in YAML") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{source}: malformed YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise SpecError(f"{source}:{_deepest_line(text)}: malformed YAML: nested too deeply") from None


def _deepest_line(text: str) -> int:
    """Line (1-based) where nesting first passes 100 levels; PyYAML's parser is not recursive."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > 100:
                    return event.start_mark.line + 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        pass
    return 1


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number (1-based) of every mapping key, by its path of keys from the top."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = prefix + (str(key_node.value),)
                lines[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = prefix + (str(index),)
                lines[path] = item.start_mark.line + 1
                walk(item, path)

    walk(root, ())
    return lines


def _fields_at(model: Any, loc: tuple) -> list[str]:
    """Field names of the pydantic model found by following ``loc`` from ``model``."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    current = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *get_args(annotation)]
        for inner in list(candidates):
            candidates.extend(get_args(inner))
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if get_origin(annotation) is dict:
            return []
        current = models[0] if models else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _clean_loc(loc: tuple, data: Any = None) -> tuple[str, ...]:
    """Drop pydantic's union-branch labels (``Objective``, ``list[...]``, ``float``) from a location.

    A part that is a key (or index) of the loaded ``data`` at that point is always kept, so a
    parameter named ``H`` or ``float`` is not mistaken for a branch label.
    """
    out: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and (part[:1].isupper() or "[" in part):
            continue  # the name of a union branch, not a key in the file
        elif len(out) == 2 and out[0] == "parameters" and part in ("float", "int", "categorical"):
            continue  # the discriminator tag of a parameter
        else:
            node = None  # a key the file lacks (missing) or does not allow (extra)
        out.append(str(part))
    return tuple(out)


def validation_message(err: Any, model: Any, source: str, text: str, data: Any = None) -> str:
    """One line for the first problem in a pydantic ValidationError, with the YAML line."""
    lines = key_lines(text)
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    if first["type"] == "invalid_key" or first["loc"][-1:] == ("[key]",):  # `false:`, `1:` or `null:` as a key
        return _invalid_key_message(first, lines, source, data)
    loc = _clean_loc(first["loc"], data)
    key = ".".join(loc) or "(top level)"
    line = None
    for depth in range(len(loc), 0, -1):
        line = lines.get(loc[:depth])
        if line:
            break
    where = f"{source}:{line}" if line else source
    if first["type"] == "extra_forbidden":
        valid = _fields_at(model, loc[:-1])
        hint = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        near = f" (did you mean '{hint[0]}'?)" if hint else (f" (valid: {', '.join(valid)})" if valid else "")
        return f"{where}: unknown key '{key}'{near}"
    if first["type"] == "missing":
        return f"{where}: missing required key '{key}'"
    if first["type"] in ("literal_error", "enum"):
        return f"{where}: {key}: {first['input']!r} is not one of {first['ctx']['expected']}"
    message = first["msg"].removeprefix("Value error, ")
    if not loc:  # a check between keys (a model validator): its message starts with the key it is about
        lead = re.match(r"[A-Za-z_]\w*(?:\.\w+)*", message)
        path = tuple(lead[0].split(".")) if lead else ()
        line = next((lines[path[:d]] for d in range(len(path), 0, -1) if path[:d] in lines), None)
        if lead and (line or path[0] in getattr(model, "model_fields", {})):
            return f"{source}:{line}: {message}" if line else f"{source}: {message}"
    return f"{where}: {key}: {message}"


def _reads_as(written: str, value: Any) -> bool:
    try:
        loaded = yaml.load(written, Loader=_Loader)
    except yaml.YAMLError:
        return False
    return type(loaded) is type(value) and loaded == value


def _invalid_key_message(error: dict, lines: dict[tuple[str, ...], int], source: str, data: Any) -> str:
    """A key YAML read as a number, boolean or null: name it and its line."""
    # a model's field names: (..., key); a dict[str, ...]'s keys: (..., key, "[key]")
    parent = _clean_loc(error["loc"][:-1] if error["type"] == "invalid_key" else error["loc"][:-2], data)
    key = error["input"]
    line = None
    for path, at in lines.items():  # key_lines holds keys as written: find the one that reads as ``key``
        if path[:-1] == parent and _reads_as(path[-1], key):
            line = at
            break
    line = line or lines.get(parent)
    where = f"{source}:{line}" if line else source
    under = f" under '{'.'.join(parent)}'" if parent else ""
    return f"{where}: key '{key}'{under} is not a string (keys are names; quote it if it is one)"


def parse_model(data: Any, model: type[M], *, what: str, source: str, text: str = "") -> M:
    """Validate loaded YAML ``data`` as ``model``; a :class:`SpecError` names the key and its line."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping of {what} keys at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise SpecError(validation_message(err, model, source, text, data)) from None


def load_model(path: str | Path, model: type[M], *, what: str, check: Callable[[M], None] | None = None) -> tuple[M, str]:
    """Read, validate and (``check``) cross-check a spec file; returns the spec and its text.

    ``check`` raises SpecErrors that carry a key path; they come out with the file and line.
    """
    data, text = read_yaml(path)
    spec = parse_model(data, model, what=what, source=str(path), text=text)
    if check is not None:
        try:
            check(spec)
        except SpecError as err:
            raise locate(err, str(path), text) from None
    return spec, text
