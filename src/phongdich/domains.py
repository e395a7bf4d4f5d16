"""The domains, lowest first, and loading their optional modules by name.

Loading by name keeps the direction of dependencies: a lower domain can act on every table
(a person merge re-points every reference to a person) without importing higher domains.
"""

from __future__ import annotations

import importlib

DOMAINS = (
    "auth",
    "adminunits",
    "persons",
    "declarations",
    "credentials",
    "venues",
    "checkins",
    "checkpoints",
    "testing",
    "vaccination",
    "cases",
    "dashboard",
)


def load(module_name: str) -> None:
    """Import `phongdich.<domain>.<module_name>` for every domain that has one."""
    for domain in DOMAINS:
        name = f"phongdich.{domain}.{module_name}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, f"phongdich.{domain}"):
                raise


def load_models() -> None:
    import phongdich.credentials.status  # health facts and colour rule sets
    import phongdich.events  # noqa: F401  (the outbox tables)

    load("models")
