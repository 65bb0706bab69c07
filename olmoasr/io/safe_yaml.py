"""Reading YAML configs from strangers: safe tags only, bounded alias expansion, one-line errors.

`yaml.safe_load` never runs code, but a few hundred bytes of nested aliases (`b: [*a, *a, ...]`,
eight levels deep) stand for hundreds of millions of values once anything walks the result, prints it
in an error or copies it. `BoundedSafeLoader` measures the document as if every alias were expanded and
refuses it when aliases would add more than `MAX_ALIAS_EXPANSION` nodes and characters, or when an alias
refers to its own ancestor. Files must be UTF-8 (a UTF-8 or UTF-16 byte-order mark is honoured).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from olmoasr.errors import ConfigError

# What aliases may add beyond the document's own nodes: generous for configs that reuse a block, far
# below what an alias bomb asks for.
MAX_ALIAS_EXPANSION = 100_000
_MAX_QUOTED = 200  # characters of a parser message quoted in an error


class AliasBombError(yaml.YAMLError):
    pass


def _weight(node: yaml.Node) -> int:
    return 1 + len(node.value) if isinstance(node, yaml.ScalarNode) else 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expansion_size(root: yaml.Node, limit: int) -> tuple[int, int]:
    """(size with aliases expanded, size of the distinct nodes); stops early once expansion passes `limit`."""
    expanded: dict[int, int] = {}
    unique = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            expanded[key] = _weight(node) + sum(expanded[id(child)] for child in _children(node))
            if expanded[key] - unique > limit:
                raise AliasBombError(f"aliases expand this document beyond {limit} nodes and characters")
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise AliasBombError("an alias refers to a node that contains it (a recursive alias)")
        on_path.add(key)
        unique += _weight(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)) if id(child) not in expanded)
    return expanded[id(root)], unique


class BoundedSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses documents whose aliases expand beyond `MAX_ALIAS_EXPANSION`."""

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            expansion_size(node, MAX_ALIAS_EXPANSION)
        return node


def _problem(err: yaml.YAMLError) -> str:
    text = getattr(err, "problem", None) or str(err)
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "..."


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark) text, or one line saying where the first bad byte is."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        bad = data[err.start : err.start + 1].hex()
        raise ConfigError(source, f"not UTF-8 text (byte 0x{bad} at offset {err.start}); save it as UTF-8") from None


def load_text(text: str, source: str, loader: type[yaml.SafeLoader] = BoundedSafeLoader) -> Any:
    """Parse YAML text; every problem is a ConfigError naming `source` (and the line)."""
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except AliasBombError as err:
        raise ConfigError(source, f"refused: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{where}", f"not valid YAML ({_problem(err)})") from None
    except RecursionError:
        raise ConfigError(source, "YAML nested too deeply") from None


def read_yaml(path: str | os.PathLike[str], loader: type[yaml.SafeLoader] = BoundedSafeLoader) -> Any:
    """Read and parse a YAML file with `loader` (a bounded safe loader by default)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(str(path), f"cannot read ({err.strerror or type(err).__name__})") from None
    return load_text(decode_text(data, str(path)), str(path), loader)
