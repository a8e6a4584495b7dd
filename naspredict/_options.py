"""``--option KEY=VALUE`` on the command line: constructor settings of a strategy (``search``)
or a predictor (``fit``, ``evaluate``), parsed and checked in one place.

VALUE is read as JSON when it parses (numbers, ``true``/``false``, lists), else as text.  A key
is checked against the constructor's parameters (following ``**params`` up the class's bases),
and a value against the type of the parameter's default, so a misspelt key or a word where a
number belongs is refused with the list of options instead of surfacing as a ``TypeError``.
"""
from __future__ import annotations

import argparse
import inspect
import json
from typing import Any, Mapping

__all__ = ["parse_option", "class_params", "check_options", "show"]


def parse_option(text: str) -> tuple[str, object]:
    """``[PREFIX.]KEY=VALUE`` -> ``(key, value)``: ``key`` keeps an optional ``PREFIX.`` (the
    predictor a setting is for, with ``evaluate``'s several predictors); the part after the
    last dot must be a parameter name.  An argparse ``type=``."""
    key, eq, value = text.partition("=")
    key = key.strip()
    name = key.rpartition(".")[2]
    if not eq or not name.isidentifier() or key.startswith(".") or key.endswith("."):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY a parameter name, got {text!r} "
                                         f"(e.g. --option acquisition=ucb)")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return key, parsed


def _constructor(klass: type) -> dict[str, inspect.Parameter]:
    out: dict = {}
    for k in klass.__mro__:
        if "__init__" not in vars(k):
            continue
        sig = inspect.signature(k.__init__).parameters
        for n, p in sig.items():
            if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                out.setdefault(n, p)
        if not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
            break
    return out


def class_params(klass: type) -> dict[str, Any]:
    """Parameter name -> default (``inspect.Parameter.empty`` when required) of ``klass``'s
    constructor, following ``**params`` to the base classes."""
    return {n: p.default for n, p in _constructor(klass).items()}


def _annotation_types(p: inspect.Parameter) -> tuple[bool, bool]:
    """``(several, nullable)``: whether the annotation admits more than one non-None type
    (``float | str``, ``Any``; then the value is not type-checked here), and whether it admits
    None (``int | None``: ``null`` passes the check)."""
    a = p.annotation
    if a is inspect.Parameter.empty:
        return False, False
    text = a if isinstance(a, str) else repr(a)
    if any(w in text for w in ("Union", "Optional", "Any", "[")):
        return True, True
    parts = [t.strip() for t in text.split("|")]
    rest = [t for t in parts if t != "None"]
    return len(rest) > 1, len(rest) < len(parts)


def show(v) -> str:
    """A default or stored value as a user would type it."""
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return repr(v)


def check_options(options: Mapping[str, object], klass: type, *, owner: str,
                  set_by_flags: Mapping[str, str] | None = None) -> dict:
    """``options`` checked against the constructor of ``klass`` (see :func:`class_params`).

    ``owner`` names what takes them in messages (``"strategy 'bo'"``); ``set_by_flags`` maps
    the parameters other flags set to those flags (refused here, with the flag to use).  A
    value is checked against its default's type (bool, int, float, text) unless the
    parameter's annotation admits several types.

    Raises
    ------
    ValueError : a key the constructor does not take (its options are listed with their
        defaults), a key another flag sets, or a value of the wrong type for a number, a
        true/false or a text setting.
    """
    flags = dict(set_by_flags or {})
    params = _constructor(klass)
    known = {n: p.default for n, p in params.items()}
    out = {}
    for key, value in options.items():
        if key in flags:
            raise ValueError(f"--option {key}=...: {key} is set by {flags[key]}; use that flag")
        if key not in known:
            listing = ", ".join(f"{n}={show(d) if d is not inspect.Parameter.empty else '(required)'}"
                                for n, d in known.items() if n not in flags)
            raise ValueError(f"--option {key}: {owner} has no option {key!r}; its options "
                             f"(with defaults): {listing or 'none'}")
        default = known[key]
        several, nullable = _annotation_types(params[key])
        kind = (None if several or (nullable and value is None) else
                next((t for t in (bool, int, float, str) if isinstance(default, t)), None))
        ok = (kind is None or (kind is bool and isinstance(value, (bool, list)))
              or (kind is int and isinstance(value, int) and not isinstance(value, bool))
              or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
              or (kind is str and isinstance(value, str)))
        if not ok:
            what = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}[kind]
            raise ValueError(f"--option {key}={json.dumps(value)}: expected {what} (default {show(default)})")
        out[key] = value
    return out
