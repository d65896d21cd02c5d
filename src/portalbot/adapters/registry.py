"""Which adapters exist: the modules of the packaged ``payers`` package and the
``portalbot.payers`` entry points of installed packages, by payer id."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from typing import Any

from portalbot.adapters.base import PortalAdapter
from portalbot.errors import ConfigError


def _adapters_in_module(module: object) -> list[type[PortalAdapter[Any]]]:
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, PortalAdapter)
            and "payer_id" in vars(value)
        ):
            found.append(value)
    return found


def discover_adapters() -> dict[str, type[PortalAdapter[Any]]]:
    """Every adapter in the packaged ``payers`` and in ``portalbot.payers`` entry points.

    Modules whose name starts with ``_`` are vendor bases and are not registered.
    """
    import payers

    registry: dict[str, type[PortalAdapter[Any]]] = {}
    modules = [
        importlib.import_module(f"payers.{info.name}")
        for info in pkgutil.iter_modules(payers.__path__)
        if not info.name.startswith("_")
    ]
    for entry_point in importlib.metadata.entry_points(group="portalbot.payers"):
        modules.append(entry_point.load())
    for module in modules:
        for adapter in _adapters_in_module(module):
            if adapter.payer_id in registry and registry[adapter.payer_id] is not adapter:
                raise ConfigError(f"two adapters claim payer id {adapter.payer_id!r}")
            registry[adapter.payer_id] = adapter
    return registry


def adapter_for(payer_id: str) -> type[PortalAdapter[Any]]:
    registry = discover_adapters()
    try:
        return registry[payer_id]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise ConfigError(
            f"no adapter for payer {payer_id!r} (known payers: {known}); "
            "add payers/<payer_id>.py or install a package with a portalbot.payers entry point",
            payer_id=payer_id,
        ) from None
