"""Parsing command-line text into library values; library errors into click errors.

One KEY=VALUE parser (:func:`parse_kv`), list parsers for times and radii, the
dataset options read from a loader's signature, and :func:`library_errors`,
which turns the ``ValueError``/``TypeError`` a library call raises into one
``Error: ...`` line.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import types
import typing
import warnings

import click
import numpy as np

from .. import plugins

__all__ = ["parse_kv", "parse_floats", "parse_ints", "parse_pair", "dataset_options",
           "convert", "library_errors", "echo_warnings", "ECHOED_WARNINGS"]

#: warnings a command prints as ``markovphase: warning: ...`` (deprecations, plugin errors)
ECHOED_WARNINGS = (FutureWarning, plugins.PluginWarning)


def parse_kv(items, option: str, literal: bool = True) -> dict:
    """``("ridge=1e-6", "k=8", "cmi=knn")`` -> ``{"ridge": 1e-06, "k": 8, "cmi": "knn"}``.

    Keys: ``-`` becomes ``_`` (parameter names). Values: a Python literal
    (``(1, 2)``, ``None``, ``True``), else JSON (``true``, ``null``, ``{"a": 1}``),
    else the text; with ``literal=False`` always the text and the key kept as
    written (``NAME=PATH`` items: a name, not a parameter). Raises
    :class:`click.BadParameter` naming ``option`` for an item without ``=``.
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint=option)
        key = key.strip()
        out[key.replace("-", "_") if literal else key] = _literal(value) if literal else value
    return out


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_floats(text: str, name: str) -> list[float]:
    """``"0,0.1,0.5"`` or ``"start:stop:step"`` (stop included) -> list of floats."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            n = int(np.floor((stop - start) / step + 1e-9)) + 1
            return [round(start + i * step, 10) for i in range(n)]
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected a comma list or start:stop:step",
                                 param_hint=name) from None


def parse_ints(text: str, name: str) -> list[int] | range:
    """``"1,2,3"`` -> ``[1, 2, 3]``; ``"1:12"`` or ``"1:12:2"`` (stop included) -> a ``range``
    (lazy: ``"1:99999999"`` allocates nothing; the library checks it against the lattice)."""
    try:
        if ":" in text:
            parts = [int(x) for x in text.split(":")]
            if not 2 <= len(parts) <= 3 or (len(parts) == 3 and parts[2] <= 0):
                raise ValueError
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) > 2 else 1
            return range(start, stop + 1, step)
        return [int(x) for x in text.split(",") if x.strip()]
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r}: expected a comma list or start:stop[:step] of "
                                 "integers (step > 0)", param_hint=name) from None


def parse_pair(text: str, name: str) -> tuple[float, float]:
    """``"0.2,0.5"`` -> ``(0.2, 0.5)``."""
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{name} {text!r} must be two numbers lo,hi") from None
    return lo, hi


def convert(value: str, annotation, name: str):
    """Convert a command-line string to a loader parameter's annotated type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value.lower() == "none":
            return None
        for a in args:
            try:
                return convert(value, a, name)
            except (ValueError, click.BadParameter):
                continue
        raise click.BadParameter(f"{value!r} fits none of {args}", param_hint=f"--{name}")
    if annotation is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise click.BadParameter(f"{value!r} is not a boolean", param_hint=f"--{name}")
    if annotation in (int, float):
        try:
            return annotation(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a valid {annotation.__name__}",
                                     param_hint=f"--{name}") from None
    if annotation is tuple or origin is tuple:
        return tuple(int(x) for x in value.split(","))
    return value


def dataset_options(loader, name: str, tokens: list[str]) -> dict:
    """Turn ``--param value`` tokens into keyword arguments of the dataset ``loader``.

    ``loader`` is the registered loader of dataset ``name`` (resolved by the
    caller); its signature (annotations, else the defaults' types) types the values.
    """
    sig = inspect.signature(loader)
    try:
        hints = typing.get_type_hints(loader)
    except Exception:  # unresolvable annotations: fall back to the defaults' types
        hints = {}
    params, i = {}, 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--"):
            raise click.UsageError(f"unexpected argument {tok!r}")
        key, _, val = tok[2:].partition("=")
        pname = key.replace("-", "_")
        if pname not in sig.parameters:
            known = ", ".join(f"--{p.replace('_', '-')}" for p in sig.parameters)
            raise click.UsageError(f"no such option: --{key} (dataset {name!r} takes: {known})")
        p = sig.parameters[pname]
        ann = hints.get(pname, type(p.default) if p.default not in (p.empty, None) else str)
        if not val:
            if ann is bool and (i + 1 >= len(tokens) or tokens[i + 1].startswith("--")):
                val = "true"
            elif i + 1 < len(tokens):
                i += 1
                val = tokens[i]
            else:
                raise click.UsageError(f"option --{key} needs a value")
        params[pname] = convert(val, ann, key)
        i += 1
    return params


@contextlib.contextmanager
def library_errors(*extra: type[BaseException]):
    """Turn bad input found by the library (``ValueError``, ``TypeError``, an unknown
    component, a missing file, ``extra``) into one ``Error: <message>`` line."""
    try:
        yield
    except (plugins.UnknownComponentError, ValueError, TypeError, OSError, *extra) as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def echo_warnings(categories=ECHOED_WARNINGS):
    """Print warnings of ``categories`` as ``markovphase: warning: <message>`` lines on
    stderr (no source location); others are shown as Python shows them."""
    with warnings.catch_warnings(record=True) as caught:
        for category in categories:
            warnings.simplefilter("always", category)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, categories):
                    click.echo(f"markovphase: warning: {w.message}", err=True)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def time_spacing_callback(ctx, param, value):
    """Click callback: a sampler time spacing (name or power), the option named in errors."""
    from ..sampling import parse_time_spacing

    try:
        return parse_time_spacing(value, param.opts[0])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None

