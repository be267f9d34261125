"""The one registry of model families.

``register`` rejects duplicate keys; ``get_family`` names the valid keys (and the closest one)
when a key is unknown. Family modules register themselves on import; ``all_families`` imports
them all once.
"""

from __future__ import annotations

import difflib
import importlib

from mlvsdl.errors import ConfigError
from mlvsdl.families.base import Family
from mlvsdl.types import Modality, Schema

__all__ = ["all_families", "get_family", "register", "resolve_families"]

_FAMILIES: dict[str, Family] = {}
_MODULES = (
    "mlvsdl.families.ml",
    "mlvsdl.families.dl",
    "mlvsdl.families.text",
    "mlvsdl.families.image",
    "mlvsdl.families.audio",
    "mlvsdl.families.anomaly",
    "mlvsdl.families.embed",
    "mlvsdl.families.cluster",
    "mlvsdl.families.forecast",
    "mlvsdl.families.recommend",
    "mlvsdl.families.synth",
)
_loaded = False


def register(family: Family) -> Family:
    """Add ``family`` to the registry. Raises if its key is taken."""
    if family.key in _FAMILIES:
        raise ValueError(f"family key {family.key!r} is already registered")
    _FAMILIES[family.key] = family
    return family


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _MODULES:
            importlib.import_module(module)
        _loaded = True


def all_families() -> list[Family]:
    """Every registered family, ML first, each group in registration order."""
    _load()
    return sorted(_FAMILIES.values(), key=lambda f: f.kind != f.kind.ML)


def get_family(key: str) -> Family:
    _load()
    try:
        return _FAMILIES[key]
    except KeyError:
        close = difflib.get_close_matches(key, _FAMILIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        valid = ", ".join(sorted(_FAMILIES))
        raise ConfigError(f"unknown family {key!r}.{hint} Valid families: {valid}.") from None


def resolve_families(keys: list[str] | None, schema: Schema) -> list[Family]:
    """Families to run on ``schema``: the given keys (validated) or every one that supports it
    and is not ``opt_in``."""
    if keys is None:
        return [f for f in all_families() if f.supports(schema) and not f.opt_in]
    chosen = [get_family(k) for k in dict.fromkeys(keys)]
    unsupported = [f.key for f in chosen if not _accepts(f, schema)]
    if unsupported:
        raise ConfigError(
            f"families {', '.join(unsupported)} cannot learn the {schema.task} task on "
            f"{schema.modality} data; run 'mlvsdl families' to see which can."
        )
    return chosen


def _accepts(family: Family, schema: Schema) -> bool:
    """Whether a family asked for by name can learn ``schema``: a tabular family also takes a
    text table, encoding its text columns by length and word count."""
    if family.supports(schema):
        return True
    as_table = schema.modality is Modality.TEXT and Modality.TABULAR in family.modalities
    return as_table and schema.task in family.tasks
