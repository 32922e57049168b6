"""YAML text -> plain Python values, with alias expansion bounded before any value is built.

``yaml.safe_load`` refuses tags that construct objects, but not a "billion laughs"
document: a few hundred bytes of anchors and aliases (``&a [*a, *a, ...]`` nested nine
deep) compose to a small node graph that stands for hundreds of millions of values.
PyYAML shares the aliased objects when it constructs them, so the load itself is cheap;
the bomb goes off later, in whatever walks the value (a ``repr`` in an error message took
gigabytes and ended in a MemoryError). So the composed node graph is measured first, with
every alias counted at its full expanded size (memoised, so measuring costs one pass over
the unique nodes), and a document whose aliases add more than :data:`MAX_ALIASED_NODES`
nodes, or that refers to itself, is refused before a single value is constructed.
"""

from __future__ import annotations

from typing import Any

import yaml

# What aliases may add beyond the nodes written out in the file. A real search space uses
# a handful of anchors (one learning-rate range reused in three places); a bomb adds 10^8.
MAX_ALIASED_NODES = 10_000


class YamlBombError(yaml.YAMLError):
    """A document whose aliases expand past the bound, or that contains itself."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expanded_size(root: yaml.Node) -> tuple[int, int]:
    """``(nodes with every alias expanded, distinct nodes)`` of a composed document.

    Iterative (a deep document must not hit Python's recursion limit here) and memoised by
    node identity; an alias to a node that is still open (``&a [*a]``) is a cycle, refused.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise YamlBombError(f"an alias refers to a node that contains it (line {node.start_mark.line + 1}); a space cannot contain itself")
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise YamlBombError(f"an alias refers to a node that contains it (line {child.start_mark.line + 1}); a space cannot contain itself")
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)], len(size)


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that measures each composed document before constructing it."""

    def construct_document(self, node: yaml.Node) -> Any:
        total, distinct = expanded_size(node)
        if total - distinct > MAX_ALIASED_NODES:
            raise YamlBombError(
                f"aliases expand {distinct:,} written nodes to {total:,} (at most {MAX_ALIASED_NODES:,} more are allowed); "
                "is this a YAML bomb? write the values out or use fewer nested aliases"
            )
        return super().construct_document(node)


def load_yaml(text: str) -> Any:
    """One YAML document as plain values (``safe_load`` semantics, alias expansion bounded)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
