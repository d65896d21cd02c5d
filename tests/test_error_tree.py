"""Every exception portalbot raises is a ``PortalbotError`` and is drawn in the tree that
``portalbot.errors`` documents, at the right parent."""

from __future__ import annotations

import importlib
import re

import portalbot.errors as errors

MODULES = ("portalbot.browser", "portalbot.private", "portalbot.claims", "portalbot.ledger",
           "portalbot.ledger.urls", "portalbot.x12.reader", "portalbot.review.store",
           "portalbot.report", "portalbot.engine", "portalbot.portal")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _drawn_parents() -> dict[str, str]:
    """name → parent name, read from the box drawing in the module docstring."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").split("```")[1].strip().splitlines():
        match = re.match(r"^([│ ├└─]*)(\w+)", line)
        if not match:
            continue
        depth, name = len(match.group(1)) // 4, match.group(2)
        stack = stack[:depth]
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_every_portalbot_exception_is_drawn_under_its_parent() -> None:
    for module in MODULES:
        importlib.import_module(module)
    drawn = _drawn_parents()
    for cls in _subclasses(errors.PortalbotError):
        if cls.__module__.startswith("tests"):
            continue
        assert cls.__name__ in drawn, f"{cls.__module__}.{cls.__name__} is not in the tree"
        assert drawn[cls.__name__] == cls.__mro__[1].__name__, cls.__name__
