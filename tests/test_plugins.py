"""The plugin layer: registry, errors, built-ins, and real third-party distributions.

In-process tests run with entry-point loading switched off
(``MARKOVPHASE_NO_ENTRYPOINTS=1``) unless they feed their own entry points, so
whatever plugins happen to be installed in the environment cannot change them.
The end-to-end tests build and ``pip install`` real distributions (into a
temporary ``--target`` folder put on ``PYTHONPATH`` of a fresh interpreter, so
the shared environment is never modified) and drive the real console script.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
import warnings
from importlib import metadata

import numpy as np
import pytest

import markovphase
from markovphase import plugins
from markovphase.hookspecs import hookimpl

BUILTINS = {
    # kind: (plugin module, expected names)
    "cmi": ("markovphase.cmi", ["gaussian", "copula", "knn", "neural", "mine", "mixture"]),
    "probe": ("markovphase.probes", ["markov", "denoiser"]),
    "dataset": ("markovphase.datasets", ["mnist", "npz", "digits", "gaussian-field",
                                         "image-patches"]),
}


def plugin_errors() -> list[dict[str, str]]:
    """Load errors of plugins other than the built-ins."""
    return [e for e in plugins.load_errors() if e["plugin"] not in plugins.BUILTIN_PLUGINS]


pytestmark = pytest.mark.usefixtures("fresh_registry")


class _Plugin:
    """A run-time plugin registering fixed components of several kinds."""

    def __init__(self, cmi=(), dataset=(), raise_in=None):
        self.cmi, self.dataset, self.raise_in = dict(cmi), dict(dataset), raise_in

    def _register(self, kind, register):
        if self.raise_in == kind:
            raise RuntimeError(f"boom in {kind}")
        for name, obj in getattr(self, kind).items():
            register(name, obj)

    @hookimpl
    def markovphase_register_cmi_estimators(self, register):
        self._register("cmi", register)

    @hookimpl
    def markovphase_register_datasets(self, register):
        self._register("dataset", register)


def _loader_a():
    """Dataset A."""


def _loader_b():
    """Dataset B."""


# --------------------------------------------------------------------------
# built-ins


@pytest.mark.parametrize("kind", sorted(BUILTINS))
def test_builtins_are_registered_through_the_hooks(kind):
    module, expected = BUILTINS[kind]
    names = plugins.names(kind)
    assert set(expected) <= set(names), names
    version = metadata.version("markovphase")
    for name in expected:
        comp = plugins.component(kind, name)
        assert comp.kind == kind and comp.name == name
        assert comp.plugin == module
        assert comp.distribution == "markovphase"
        assert comp.version == version == markovphase.__version__
        assert plugins.get(kind, name) is comp.obj
    assert not [e for e in plugins.load_errors() if e["plugin"] == module]


def test_builtin_plugin_modules_are_registered_with_pluggy():
    plugins.load_plugins()
    registered = {name for name, _ in plugins.pm.list_name_plugin()}
    assert set(plugins.BUILTIN_PLUGINS) <= registered
    assert {b[0] for b in BUILTINS.values()} <= set(plugins.BUILTIN_PLUGINS)


def test_builtin_cmi_estimators_are_estimator_classes():
    from markovphase.cmi import CMIEstimator

    for name in BUILTINS["cmi"][1]:
        cls = plugins.get("cmi", name)
        assert isinstance(cls, type) and issubclass(cls, CMIEstimator)
        est = plugins.resolve("cmi", name)
        assert isinstance(est, cls)
        assert est.get_params() is not None


def test_unknown_builtin_name_suggests_the_near_miss():
    with pytest.raises(plugins.UnknownComponentError) as info:
        plugins.get("cmi", "gausian")
    msg = str(info.value)
    assert "Did you mean 'gaussian'?" in msg
    assert "copula" in msg and "knn" in msg
    with pytest.raises(plugins.UnknownComponentError, match="Did you mean 'mnist'"):
        markovphase.load_dataset("mnits")


# --------------------------------------------------------------------------
# lookup and errors (run-time plugins; independent of the built-ins)


def test_unknown_name_lists_known_names_and_did_you_mean():
    plugins.register_plugin(
        _Plugin(dataset={"demo-alpha": _loader_a, "zeta-other": _loader_b}), name="p1"
    )
    with pytest.raises(plugins.UnknownComponentError) as info:
        plugins.get("dataset", "demo-alpah")
    msg = str(info.value)
    assert msg.startswith("unknown dataset 'demo-alpah'.")
    assert "Did you mean 'demo-alpha'?" in msg
    assert "Known dataset names:" in msg and "demo-alpha" in msg and "zeta-other" in msg
    # it is both a KeyError and a ValueError, and its str() is not quoted
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert not msg.startswith('"')
    with pytest.raises(plugins.UnknownComponentError) as info:
        plugins.get("dataset", "zzzzzz")
    assert "Did you mean" not in str(info.value)
    assert "zeta-other" in str(info.value)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind='widget' is not a component kind"):
        plugins.components("widget")


def test_components_names_component_and_resolve():
    class Est:
        def __init__(self, k=1):
            self.k = k

    plugins.register_plugin(_Plugin(cmi={"demo-z": Est, "demo-a": Est}), name="p1")
    assert [n for n in plugins.names("cmi") if n.startswith("demo-")] == ["demo-a", "demo-z"]
    comp = plugins.component("cmi", "demo-z")
    assert (comp.kind, comp.name, comp.obj, comp.plugin) == ("cmi", "demo-z", Est, "p1")
    assert comp.distribution is None and comp.version is None
    assert comp in plugins.components("cmi") and comp in plugins.components()
    assert comp not in plugins.components("dataset")
    # resolve: a name or a class is instantiated with params, an instance is returned as is
    est = plugins.resolve("cmi", "demo-z", k=4)
    assert isinstance(est, Est) and est.k == 4
    assert plugins.resolve("cmi", Est, k=2).k == 2
    inst = Est(k=9)
    assert plugins.resolve("cmi", inst) is inst
    with pytest.raises(plugins.UnknownComponentError):
        plugins.resolve("cmi", "demo-q")


def test_duplicate_name_from_a_second_plugin_is_an_error_naming_both():
    first = plugins.register_plugin(_Plugin(cmi={"demo-dup": _loader_a}), name="first-plugin")
    assert first == "first-plugin"
    with pytest.warns(plugins.PluginWarning, match="second-plugin.*skipped") as rec:
        plugins.register_plugin(
            _Plugin(cmi={"demo-other": _loader_b, "demo-dup": _loader_b},
                    dataset={"demo-ds": _loader_b}),
            name="second-plugin",
        )
    assert any("first-plugin" in str(w.message) for w in rec)
    errors = plugin_errors()
    assert len(errors) == 1
    err = errors[0]
    assert err["plugin"] == "second-plugin" and err["stage"] == "register cmi"
    assert err["error"].startswith("DuplicateComponentError")
    assert "'demo-dup'" in err["error"]
    assert "'first-plugin'" in err["error"] and "'second-plugin'" in err["error"]
    # the first registration stands; the second plugin's cmi components are all skipped,
    # its dataset (a different hook) still registers, and lookups keep working
    assert plugins.get("cmi", "demo-dup") is _loader_a
    assert plugins.component("cmi", "demo-dup").plugin == "first-plugin"
    assert "demo-other" not in plugins.names("cmi")
    assert plugins.get("dataset", "demo-ds") is _loader_b


def test_duplicate_name_within_one_plugin():
    class Twice:
        @hookimpl
        def markovphase_register_datasets(self, register):
            register("demo-twice", _loader_a)
            register("demo-twice", _loader_b)

    with pytest.warns(plugins.PluginWarning, match="demo-twice.*'twice'.*'twice'"):
        plugins.register_plugin(Twice(), name="twice")
    assert "demo-twice" not in plugins.names("dataset")


@pytest.mark.parametrize("bad_name", ["", None, 3])
def test_register_rejects_a_bad_name(bad_name):
    with pytest.warns(plugins.PluginWarning, match="name must be a non-empty str"):
        plugins.register_plugin(_Plugin(dataset={bad_name: _loader_a}), name="bad")
    assert plugin_errors()[0]["error"].startswith("TypeError")


def test_a_plugin_whose_hook_raises_is_skipped_and_reported():
    plugins.register_plugin(_Plugin(dataset={"demo-ok": _loader_a}), name="good")
    with pytest.warns(plugins.PluginWarning, match=r"'broken' skipped \(register dataset"):
        plugins.register_plugin(
            _Plugin(cmi={"demo-cmi-ok": _loader_b}, dataset={"demo-no": _loader_b},
                    raise_in="dataset"),
            name="broken",
        )
    errors = plugin_errors()
    assert [(e["plugin"], e["stage"]) for e in errors] == [("broken", "register dataset")]
    assert errors[0]["error"] == "RuntimeError: boom in dataset"
    assert set(errors[0]) == {"plugin", "distribution", "version", "stage", "error"}
    assert plugins.get("dataset", "demo-ok") is _loader_a
    assert "demo-no" not in plugins.names("dataset")
    assert plugins.get("cmi", "demo-cmi-ok") is _loader_b  # its other hook still worked


def test_unregister_plugin_removes_its_components():
    plugins.register_plugin(_Plugin(dataset={"demo-gone": _loader_a}), name="tmp")
    assert "demo-gone" in plugins.names("dataset")
    plugins.unregister_plugin("tmp")
    assert "demo-gone" not in plugins.names("dataset")
    assert not plugins.pm.has_plugin("tmp")
    # the name is free again
    plugins.register_plugin(_Plugin(dataset={"demo-gone": _loader_b}), name="tmp2")
    assert plugins.get("dataset", "demo-gone") is _loader_b


def test_reset_forgets_everything_and_reloads_the_builtins():
    plugins.load_plugins()
    builtin_names = {k: plugins.names(k) for k in plugins.KINDS}
    builtin_errors = plugins.load_errors()
    plugins.register_plugin(_Plugin(dataset={"demo-r": _loader_a}), name="rt")
    with pytest.warns(plugins.PluginWarning):
        plugins.register_plugin(_Plugin(raise_in="cmi"), name="rt-broken")
    assert "demo-r" in plugins.names("dataset")
    plugins.reset()
    assert not plugins.is_loaded()
    assert plugins.pm.list_name_plugin() == []
    # next use reloads the built-ins only, as they were
    assert {k: plugins.names(k) for k in plugins.KINDS} == builtin_names
    assert plugins.load_errors() == builtin_errors
    assert not plugins.pm.has_plugin("rt")


def test_loading_is_lazy_and_happens_once():
    plugins.reset()
    assert not plugins.is_loaded()
    calls = []

    class Counting:
        @hookimpl
        def markovphase_register_datasets(self, register):
            calls.append(1)
            register("demo-count", _loader_a)

    plugins.register_plugin(Counting(), name="counting")  # loads built-ins first
    assert plugins.is_loaded() and len(calls) == 1
    for _ in range(3):
        plugins.load_plugins()
        plugins.get("dataset", "demo-count")
        plugins.components()
    assert len(calls) == 1


# --------------------------------------------------------------------------
# entry points, in process (fake EntryPoint objects pointing at modules in tmp_path)


def _write_module(tmp_path, monkeypatch, body: str) -> str:
    name = f"mp_fake_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _feed_entry_points(monkeypatch, eps):
    def fake(**kw):
        assert kw == {"group": plugins.ENTRY_POINT_GROUP}
        return list(eps)

    monkeypatch.setattr(plugins.metadata, "entry_points", fake)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    plugins.reset()


GOOD_EP = """
    from markovphase.hookspecs import hookimpl

    def loader(n: int = 3):
        "A fake dataset."

    @hookimpl
    def markovphase_register_datasets(register):
        register("ep-data", loader)
        register("ep-data-2", loader)
"""


def test_entry_point_plugins_are_loaded(tmp_path, monkeypatch):
    mod = _write_module(tmp_path, monkeypatch, GOOD_EP)
    ep = metadata.EntryPoint(name="fake-good", value=mod, group="markovphase")
    _feed_entry_points(monkeypatch, [ep])
    comp = plugins.component("dataset", "ep-data")
    assert comp.plugin == "fake-good"
    assert comp.obj is sys.modules[mod].loader
    assert "ep-data-2" in plugins.names("dataset")


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_falsy_switch_values_keep_entry_points_on(tmp_path, monkeypatch, value):
    mod = _write_module(tmp_path, monkeypatch, GOOD_EP)
    _feed_entry_points(monkeypatch, [metadata.EntryPoint("fake-good", mod, "markovphase")])
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    assert "ep-data" in plugins.names("dataset")


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_switch_turns_entry_points_off(tmp_path, monkeypatch, value):
    mod = _write_module(tmp_path, monkeypatch, GOOD_EP)
    _feed_entry_points(monkeypatch, [metadata.EntryPoint("fake-good", mod, "markovphase")])
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    assert "ep-data" not in plugins.names("dataset")
    assert not plugins.pm.has_plugin("fake-good")
    assert plugin_errors() == []


def test_entry_point_that_fails_to_import_is_skipped(tmp_path, monkeypatch):
    good = _write_module(tmp_path, monkeypatch, GOOD_EP)
    bad = _write_module(tmp_path, monkeypatch, """
        raise ImportError("needs the missing library 'unobtainium'")
    """)
    _feed_entry_points(monkeypatch, [
        metadata.EntryPoint("fake-bad", bad, "markovphase"),
        metadata.EntryPoint("fake-good", good, "markovphase"),
        metadata.EntryPoint("fake-missing", "mp_no_such_module_xyz", "markovphase"),
    ])
    with pytest.warns(plugins.PluginWarning) as rec:
        names = plugins.names("dataset")
    assert "ep-data" in names  # the good plugin after the bad one still loads
    errors = {e["plugin"]: e for e in plugins.load_errors()}
    assert errors["fake-bad"]["stage"] == "import"
    assert errors["fake-bad"]["error"] == (
        "ImportError: needs the missing library 'unobtainium'"
    )
    assert errors["fake-missing"]["error"].startswith("ModuleNotFoundError")
    assert any("fake-bad" in str(w.message) for w in rec)


def test_entry_point_with_a_misspelt_or_malformed_hook_is_skipped(tmp_path, monkeypatch):
    typo = _write_module(tmp_path, monkeypatch, """
        from markovphase.hookspecs import hookimpl

        @hookimpl
        def markovphase_register_dataset(register):  # missing "s": no such hook
            register("never", None)
    """)
    wrong_args = _write_module(tmp_path, monkeypatch, """
        from markovphase.hookspecs import hookimpl

        @hookimpl
        def markovphase_register_datasets(register, extra):
            register("never-2", None)
    """)
    good = _write_module(tmp_path, monkeypatch, GOOD_EP)
    _feed_entry_points(monkeypatch, [
        metadata.EntryPoint("typo", typo, "markovphase"),
        metadata.EntryPoint("wrong-args", wrong_args, "markovphase"),
        metadata.EntryPoint("fake-good", good, "markovphase"),
    ])
    with pytest.warns(plugins.PluginWarning):
        names = plugins.names("dataset")
    assert "ep-data" in names and "never" not in names and "never-2" not in names
    errors = {e["plugin"]: e for e in plugin_errors()}
    assert set(errors) == {"typo", "wrong-args"}
    assert errors["typo"]["stage"] == "register"
    assert "unknown hook 'markovphase_register_dataset'" in errors["typo"]["error"]
    assert errors["wrong-args"]["error"].startswith("PluginValidationError")
    assert "extra" in errors["wrong-args"]["error"]
    assert not plugins.pm.has_plugin("typo") and not plugins.pm.has_plugin("wrong-args")


def test_register_plugin_rejects_a_misspelt_hook():
    import pluggy

    class Typo:
        @hookimpl
        def markovphase_register_cmi_estimator(self, register):
            register("never", None)

    with pytest.raises(pluggy.PluginValidationError, match="unknown hook"):
        plugins.register_plugin(Typo(), name="typo")
    assert not plugins.pm.has_plugin("typo")
    # the registry still works and the name is free
    plugins.register_plugin(_Plugin(dataset={"demo-after": _loader_a}), name="typo")
    assert plugins.get("dataset", "demo-after") is _loader_a
    with pytest.raises(ValueError, match="already registered"):
        plugins.register_plugin(_Plugin(), name="typo")


def test_first_registered_plugin_keeps_a_contested_name(tmp_path, monkeypatch):
    """A later plugin that reuses a name is skipped; the earlier one is untouched.

    Built-ins are registered before entry points, so a third-party plugin can
    never knock out built-in components by claiming one of their names.
    """
    builtin = _write_module(tmp_path, monkeypatch, """
        from markovphase.hookspecs import hookimpl

        def keep(): "Built-in."
        def other(): "Built-in too."

        @hookimpl
        def markovphase_register_datasets(register):
            register("shared", keep)
            register("builtin-only", other)
    """)
    intruder = _write_module(tmp_path, monkeypatch, """
        from markovphase.hookspecs import hookimpl

        def mine(): "Third party."

        @hookimpl
        def markovphase_register_datasets(register):
            register("intruder-only", mine)
            register("shared", mine)
    """)
    monkeypatch.setattr(plugins, "BUILTIN_PLUGINS", (builtin,))
    _feed_entry_points(monkeypatch, [metadata.EntryPoint("intruder", intruder, "markovphase")])
    with pytest.warns(plugins.PluginWarning, match="intruder"):
        plugins.load_plugins()
    assert plugins.component("dataset", "shared").plugin == builtin
    assert plugins.get("dataset", "builtin-only") is sys.modules[builtin].other
    assert "intruder-only" not in plugins.names("dataset")
    (err,) = plugins.load_errors()
    assert err["plugin"] == "intruder" and f"'{builtin}'" in err["error"]


def test_third_party_cannot_knock_out_real_builtins(tmp_path, monkeypatch):
    intruder = _write_module(tmp_path, monkeypatch, """
        from markovphase.hookspecs import hookimpl

        @hookimpl
        def markovphase_register_datasets(register):
            register("digits", lambda: None)
    """)
    _feed_entry_points(monkeypatch, [metadata.EntryPoint("intruder", intruder, "markovphase")])
    with pytest.warns(plugins.PluginWarning, match="'markovphase.datasets' and plugin 'intruder'"):
        names = plugins.names("dataset")
    assert set(BUILTINS["dataset"][1]) <= set(names)
    assert plugins.component("dataset", "digits").plugin == "markovphase.datasets"


# --------------------------------------------------------------------------
# end to end: real distributions, pip-installed, a fresh interpreter, the console script

def _pyproject(name: str, version: str, entry: str, extra: str = "") -> str:
    """The pyproject.toml of a one-module plugin distribution (entry point ``entry``)."""
    module = name.replace("-", "_")
    return f"""
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
{extra}
[project.entry-points.markovphase]
{entry} = "{module}"

[tool.setuptools]
py-modules = ["{module}"]
"""


DEMO_PYPROJECT = _pyproject(
    "mp-demo-plugin", "0.3.1", "demo",
    'description = "A third-party markovphase plugin used by the test suite."\n'
    'requires-python = ">=3.10"\n')

DEMO_MODULE = '''
"""A third-party markovphase plugin: a dataset, a CMI estimator and a command."""
import click
import numpy as np

from markovphase.cmi import CMIEstimator, CMIResult
from markovphase.datasets import Dataset
from markovphase.hookspecs import hookimpl


class DemoCMI(CMIEstimator):
    """I(A;C|B) from the Gaussian formula on the correlation of A and C (B ignored)."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def _evaluate(self, A, C, B):
        rho = np.corrcoef(A[:, 0], C[:, 0])[0, 1]
        return CMIResult(-0.5 * np.log1p(-rho**2) * self.scale, float("nan"), None, len(A))


def load_demo(n: int = 6, side: int = 3, random_state: int = 0) -> Dataset:
    """Demo data: standard normal noise on a side x side lattice."""
    X = np.random.default_rng(random_state).standard_normal((n, side * side))
    return Dataset(X=X, lattice_shape=(side, side), metadata={"source": "demo"})


@hookimpl
def markovphase_register_cmi_estimators(register):
    register("demo-cmi", DemoCMI)


@hookimpl
def markovphase_register_datasets(register):
    register("demo-data", load_demo)


@hookimpl
def markovphase_register_commands(cli):
    @cli.command(name="demo-hello")
    @click.option("--who", default="world")
    def demo_hello(who):
        """Say hello from the demo plugin."""
        click.echo(f"hello {who} from mp-demo-plugin")
'''

BROKEN_PYPROJECT = _pyproject("mp-broken-plugin", "1.0.0", "broken")

BROKEN_MODULE = '''
raise ImportError("mp_broken_plugin needs the library 'unobtainium'")
'''


def _pip_install_target(src_dirs, target):
    """``pip install`` real distributions into ``target`` (no network, no build isolation)."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed: needed to build the test distributions")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
           "--no-build-isolation", "--no-index", "--disable-pip-version-check",
           "--target", str(target), *map(str, src_dirs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Two real distributions, built from source and pip-installed into a site folder.

    ``pip install --target`` instead of the shared virtual environment: the
    plugins are seen only by the subprocesses that put the folder on
    ``PYTHONPATH``, so concurrent test runs and an interrupted teardown cannot
    leave a broken plugin installed. Entry-point discovery is the same
    (``importlib.metadata`` reads the ``.dist-info`` on ``sys.path``).
    """
    root = tmp_path_factory.mktemp("thirdparty")
    demo, broken = root / "mp-demo-plugin", root / "mp-broken-plugin"
    for d, pyproject, mod, body in (
        (demo, DEMO_PYPROJECT, "mp_demo_plugin", DEMO_MODULE),
        (broken, BROKEN_PYPROJECT, "mp_broken_plugin", BROKEN_MODULE),
    ):
        d.mkdir()
        (d / "pyproject.toml").write_text(pyproject)
        (d / f"{mod}.py").write_text(body)
    site = root / "site"
    _pip_install_target([demo, broken], site)  # one pip run builds and installs both
    yield site
    shutil.rmtree(root, ignore_errors=True)


def _env(site=None, disable=False):
    env = {k: v for k, v in os.environ.items()
           if k not in (plugins.DISABLE_ENV, "PYTHONPATH")}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    if disable:
        env[plugins.DISABLE_ENV] = "1"
    env["PYTHONWARNINGS"] = "default"
    return env


def _console_script() -> list[str]:
    exe = shutil.which("markovphase", path=os.path.dirname(sys.executable))
    assert exe, f"the markovphase console script is not installed next to {sys.executable}"
    return [exe]


def run_cli(args, site=None, disable=False):
    return subprocess.run([*_console_script(), *args], capture_output=True, text=True,
                          env=_env(site, disable), timeout=120, cwd=os.path.dirname(sys.executable))


def run_python(code, site=None, disable=False):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=_env(site, disable), timeout=120,
                          cwd=os.path.dirname(sys.executable))


def test_installed_plugin_is_listed_by_plugins_json(installed):
    proc = run_cli(["plugins", "--json"], site=installed)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == {"components", "errors"}
    rows = {(r["kind"], r["name"]): r for r in report["components"]}
    data, cmi = rows[("dataset", "demo-data")], rows[("cmi", "demo-cmi")]
    for row in (data, cmi):
        assert row["plugin"] == "demo"
        assert row["distribution"] == "mp-demo-plugin"
        assert row["version"] == "0.3.1"
    assert data["object"] == "mp_demo_plugin.load_demo"
    assert cmi["object"] == "mp_demo_plugin.DemoCMI"
    # the broken distribution is reported, with its distribution and version
    (err,) = [e for e in report["errors"] if e["plugin"] == "broken"]
    assert err["distribution"] == "mp-broken-plugin" and err["version"] == "1.0.0"
    assert err["stage"] == "import"
    assert err["error"] == "ImportError: mp_broken_plugin needs the library 'unobtainium'"
    assert ("markovphase: warning: markovphase plugin 'broken' skipped (import failed): "
            "ImportError: mp_broken_plugin needs the library 'unobtainium'\n") in proc.stderr
    assert "Traceback" not in proc.stderr
    # built-ins are still there, attributed to markovphase
    for kind, (_, expected) in BUILTINS.items():
        for name in expected:
            assert rows[(kind, name)]["distribution"] == "markovphase"


def test_installed_plugin_works_from_python(installed):
    proc = run_python("""
        import numpy as np
        import markovphase as mp
        from markovphase import plugins

        ds = mp.load_dataset("demo-data", n=7, side=4)
        assert ds.X.shape == (7, 16) and ds.lattice_shape == (4, 4), ds
        assert ds.name == "demo-data" and ds.metadata == {"source": "demo"}
        comp = plugins.component("cmi", "demo-cmi")
        assert (comp.distribution, comp.version, comp.plugin) == ("mp-demo-plugin", "0.3.1", "demo")
        est = plugins.resolve("cmi", "demo-cmi", scale=2.0)
        assert isinstance(est, mp.CMIEstimator) and est.get_params() == {"scale": 2.0}
        rng = np.random.default_rng(0)
        a = rng.standard_normal(200_000)
        c = 0.6 * a + 0.8 * rng.standard_normal(200_000)
        print(est.estimate(a, c))
    """, site=installed)
    assert proc.returncode == 0, proc.stderr
    # 2 * (-1/2 log(1 - 0.36)): the demo estimator computed a real value
    assert float(proc.stdout.strip().splitlines()[-1]) == pytest.approx(
        -np.log(1 - 0.36), abs=0.01)


def test_installed_plugin_adds_a_command(installed):
    proc = run_cli(["demo-hello", "--who", "tester"], site=installed)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "hello tester from mp-demo-plugin"
    helptext = run_cli(["--help"], site=installed)
    assert helptext.returncode == 0
    assert "demo-hello" in helptext.stdout and "Say hello from the demo plugin" in helptext.stdout
    assert "plugins" in helptext.stdout and "datasets" in helptext.stdout


def test_a_plugin_raising_on_import_does_not_stop_the_cli(installed):
    proc = run_cli(["plugins"], site=installed)
    assert proc.returncode == 0, proc.stderr
    assert ("error: plugin broken [mp-broken-plugin 1.0.0] (import): "
            "ImportError: mp_broken_plugin needs the library 'unobtainium'") in proc.stdout
    for kind in plugins.KINDS:
        assert f"{kind}:" in proc.stdout
    for _, expected in BUILTINS.values():
        for name in expected:
            assert f"  {name} " in proc.stdout
    # the other commands still run
    assert "  demo-data " in proc.stdout  # the good plugin beside it still loads
    proc = run_cli(["datasets"], site=installed)
    assert proc.returncode == 0, proc.stderr
    assert "demo-data  (mp-demo-plugin)" in proc.stdout and "--side = 3" in proc.stdout


def test_switch_hides_third_party_components(installed):
    proc = run_cli(["plugins", "--json"], site=installed, disable=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert all(r["distribution"] == "markovphase" for r in report["components"])
    assert all(e["plugin"].startswith("markovphase.") for e in report["errors"])
    assert "'broken'" not in proc.stderr
    proc = run_cli(["demo-hello"], site=installed, disable=True)
    assert proc.returncode != 0 and "No such command 'demo-hello'" in proc.stderr


def test_no_warnings_without_plugins():
    with warnings.catch_warnings():
        warnings.simplefilter("error", plugins.PluginWarning)
        plugins.load_plugins()
    assert plugins.load_errors() == []
