"""The plugin layer: one pluggy manager, one registry of named components.

Built-in components are registered through the same hooks as third-party
plugins. Third-party plugins are found through the ``markovphase`` entry-point
group, loaded lazily on first use, once. A plugin that fails to import or to
register is skipped with a warning and listed in :func:`load_errors`; the rest
keeps working. Set ``MARKOVPHASE_NO_ENTRYPOINTS=1`` to load built-ins only
(reproducible runs).
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs, provenance

ENTRY_POINT_GROUP = "markovphase"
DISABLE_ENV = "MARKOVPHASE_NO_ENTRYPOINTS"

BUILTIN_PLUGINS = (
    "markovphase.cmi",
    "markovphase.probes",
    "markovphase.datasets",
    "markovphase.cli.commands",
)

#: component kind -> name of the hook that registers it
KINDS = {
    "cmi": "markovphase_register_cmi_estimators",
    "probe": "markovphase_register_probes",
    "dataset": "markovphase_register_datasets",
}

#: kind -> {old name: new name}: renamed components, found under the old name for one
#: release with a FutureWarning
RENAMED = {"probe": {"cmi": "markov"}}


class PluginWarning(UserWarning):
    """A plugin failed to load or register and was skipped."""


class UnknownComponentError(KeyError, ValueError):
    """No component of that kind has that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateComponentError(ValueError):
    """Two plugins registered the same name for the same kind."""


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    obj: Any
    plugin: str
    distribution: str | None = None
    version: str | None = None


@dataclass
class _State:
    loaded: bool = False
    components: dict[str, dict[str, Component]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    dists: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


pm = pluggy.PluginManager("markovphase")
pm.add_hookspecs(hookspecs)
_state = _State()
_lock = threading.RLock()


def record_error(plugin: str, stage: str, exc: BaseException) -> None:
    """Record that ``plugin`` failed at ``stage`` (listed by :func:`load_errors`) and warn.

    Used by the loader and by hosts that call hooks themselves (the command
    line's ``markovphase_register_commands``).
    """
    dist, version = _state.dists.get(plugin, (None, None))
    message = f"{type(exc).__name__}: {exc}"
    _state.errors.append(
        {"plugin": plugin, "distribution": dist or "", "version": version or "",
         "stage": stage, "error": message}
    )
    warnings.warn(
        f"markovphase plugin {plugin!r} skipped ({stage} failed): {message}",
        PluginWarning,
        stacklevel=3,
    )


def _load_entrypoints() -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        _state.dists[ep.name] = (
            dist.metadata["Name"] if dist else None,
            dist.version if dist else None,
        )
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin never bricks the tool
            record_error(ep.name, "import", exc)
            continue
        try:
            _register_checked(plugin, ep.name)
        except Exception as exc:
            record_error(ep.name, "register", exc)


def _register_checked(plugin: Any, name: str | None) -> str:
    """``pm.register`` plus a check that every hook implementation has a spec.

    A misspelt hook name (``markovphase_register_dataset``) would otherwise be
    accepted silently and register nothing; it raises
    :class:`pluggy.PluginValidationError` instead, and the plugin is removed.
    """
    name = pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        pm.unregister(plugin)
        raise
    return name


def _register_hook(kind: str, only: str | None = None) -> None:
    hook = getattr(pm.hook, KINDS[kind])
    table = _state.components.setdefault(kind, {})
    # get_hookimpls() lists implementations in registration order (built-ins
    # first, then entry points, then run-time plugins); on a name clash the
    # plugin registered first keeps the name and the later one is skipped.
    for impl in hook.get_hookimpls():
        plugin = impl.plugin_name
        if only is not None and plugin != only:
            continue
        dist, version = _state.dists.get(plugin, (None, None))
        staged: dict[str, Component] = {}

        def register(name: str, obj: Any, _plugin=plugin, _staged=staged, _d=dist, _v=version):
            if not isinstance(name, str) or not name:
                raise TypeError(f"register(name, obj): name must be a non-empty str, got {name!r}")
            previous = table.get(name) or _staged.get(name)
            if previous is not None:
                raise DuplicateComponentError(
                    f"{kind} {name!r} is registered by both plugin {previous.plugin!r} "
                    f"and plugin {_plugin!r}"
                )
            _staged[name] = Component(kind, name, obj, _plugin, _d, _v)

        try:
            impl.function(register=register)
        except Exception as exc:
            record_error(plugin, f"register {kind}", exc)
            continue
        table.update(staged)  # all of a plugin's components, or none


def load_plugins() -> None:
    """Load built-in and entry-point plugins and fill the registry (idempotent)."""
    with _lock:
        if _state.loaded:
            return
        _state.loaded = True
        for module in BUILTIN_PLUGINS:
            if not pm.has_plugin(module):
                pm.register(importlib.import_module(module), name=module)
                _state.dists[module] = ("markovphase", provenance.version())
        if os.environ.get(DISABLE_ENV, "0").strip().lower() in ("", "0", "false", "no"):
            _load_entrypoints()
        for kind in KINDS:
            _register_hook(kind)


def reset() -> None:
    """Forget loaded plugins and components (for tests); the next use reloads."""
    with _lock:
        for name, _ in list(pm.list_name_plugin()):
            pm.unregister(name=name)
        _state.__init__()


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object at run time (a module or object with hookimpls).

    Its components go through the same checks as entry-point plugins (a
    failing hook or a duplicate name is recorded in :func:`load_errors` with a
    :class:`PluginWarning`). Returns the plugin's name (use it with
    :func:`unregister_plugin`).

    Raises
    ------
    pluggy.PluginValidationError
        A hook implementation with no matching spec (a misspelt name) or with
        arguments the spec does not have; the plugin is not registered.
    ValueError
        ``name`` (or the plugin object) is already registered.
    """
    with _lock:
        load_plugins()
        name = _register_checked(plugin, name)
        for kind in KINDS:
            _register_hook(kind, only=name)
        return name


def unregister_plugin(name: str) -> None:
    """Remove a run-time plugin and its components."""
    with _lock:
        pm.unregister(name=name)
        for table in _state.components.values():
            for cname in [c for c, comp in table.items() if comp.plugin == name]:
                del table[cname]


def is_loaded() -> bool:
    """Whether the built-in and entry-point plugins have been loaded (loading is lazy)."""
    return _state.loaded


def components(kind: str | None = None) -> list[Component]:
    """All registered components, optionally of one ``kind`` ("cmi", "probe", "dataset")."""
    load_plugins()
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a component kind; expected one of {sorted(KINDS)}")
    kinds = [kind] if kind else list(KINDS)
    return [c for k in kinds for c in _state.components.get(k, {}).values()]


def names(kind: str) -> list[str]:
    """Sorted names of the registered components of ``kind``."""
    return sorted(c.name for c in components(kind))


def _lookup(kind: str, name: str) -> Component:
    load_plugins()
    table = _state.components.get(kind, {})
    new = RENAMED.get(kind, {}).get(name)
    if new is not None and name not in table:
        warnings.warn(f"the {kind} name {name!r} is deprecated and will be removed in the next "
                      f"release; use {new!r}", FutureWarning, stacklevel=4)
        name = new
    if name in table:
        return table[name]
    known = sorted(table)
    close = difflib.get_close_matches(str(name), known, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise UnknownComponentError(
        f"unknown {kind} {name!r}.{hint} Known {kind} names: {', '.join(known) or '(none)'}"
    )


def get(kind: str, name: str) -> Any:
    """The object registered as ``name`` for ``kind``.

    A renamed component (:data:`RENAMED`) is found under its old name with a
    ``FutureWarning``.

    Raises
    ------
    UnknownComponentError
        Listing the known names and the closest matches.
    """
    return _lookup(kind, name).obj


def component(kind: str, name: str) -> Component:
    """The :class:`Component` record (with its plugin and distribution) for ``name``."""
    return _lookup(kind, name)


def name_of(kind: str, obj: Any) -> str | None:
    """The registered name of ``obj`` (a class, or an instance of a registered class).

    The reverse of :func:`get`, for labels in reports; ``None`` when nothing
    registered it.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    return next((c.name for c in components(kind) if c.obj is cls or c.obj is obj), None)


def load_errors() -> list[dict[str, str]]:
    """Plugins that failed to import or register: plugin, distribution, stage, error."""
    load_plugins()
    return list(_state.errors)


def resolve(kind: str, spec: Any, **params: Any) -> Any:
    """Turn an estimator parameter into an instance.

    ``spec`` may be a registered name, a class (instantiated with ``params``)
    or an instance (returned as is, un-cloned).
    """
    if isinstance(spec, str):
        spec = get(kind, spec)
    if isinstance(spec, type):
        return spec(**params)
    return spec


def describe(kind: str, obj: Any) -> str:
    """A label for a component: its registered name (else its class name), with the
    parameters an instance sets away from their defaults, e.g. ``knn(k=8)``."""
    from sklearn.base import BaseEstimator

    cls = obj if isinstance(obj, type) else type(obj)
    name = name_of(kind, cls) or cls.__name__
    if not isinstance(obj, BaseEstimator):
        return name
    defaults = cls().get_params(deep=False)
    changed = {k: v for k, v in obj.get_params(deep=False).items() if v != defaults.get(k)}
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in changed.items())})" if changed else name
