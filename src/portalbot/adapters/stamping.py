"""Errors stamped with the payer and the step by the base class, never by hand: every
portalbot error leaving one of an adapter's hooks (``HOOKS``) gets the adapter's
``payer_id`` and the hook's name, where the error did not name them itself."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from portalbot.errors import PortalbotError

# The hooks whose errors the base class stamps with the payer and the step.
HOOKS = ("to_form", "login", "is_signed_in", "open_form", "fill", "submit", "read_outcome",
         "find_submission", "check_status")


def _stamp(error: PortalbotError, payer_id: str | None, step: str) -> None:
    if error.payer_id is None:
        error.payer_id = payer_id
    if error.step is None:
        error.step = step


def stamped(step: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(method, "__stamped__", False):
        return method
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def hook(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except PortalbotError as exc:
                _stamp(exc, getattr(self, "payer_id", None), step)
                raise
    else:
        @functools.wraps(method)
        def hook(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except PortalbotError as exc:
                _stamp(exc, getattr(self, "payer_id", None), step)
                raise
    hook.__stamped__ = True  # type: ignore[attr-defined]
    return hook
