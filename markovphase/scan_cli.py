"""``markovphase scan``: the phase-diagram report of one dataset."""

from __future__ import annotations

import shlex
import sys
import types
import typing
from pathlib import Path

import click
import numpy as np

from . import plugins


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


def parse_ints(text: str, name: str) -> list[int]:
    """``"1,2,3"`` or ``"1:12"`` (inclusive) -> list of ints."""
    try:
        if ":" in text:
            parts = [int(x) for x in text.split(":")]
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) > 2 else 1
            return list(range(start, stop + 1, step))
        return [int(x) for x in text.split(",") if x.strip()]
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r}: expected a comma list or start:stop",
                                 param_hint=name) from None


def _convert(value: str, annotation, name: str):
    """Convert a CLI string to the loader parameter's annotated type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value.lower() == "none":
            return None
        for a in args:
            try:
                return _convert(value, a, name)
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


def dataset_options(name: str, tokens: list[str]) -> dict:
    """Turn ``--param value`` tokens into keyword arguments of dataset ``name``'s loader."""
    import inspect

    loader = plugins.get("dataset", name)
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
        params[pname] = _convert(val, ann, key)
        i += 1
    return params


def parse_params(items: tuple[str, ...], option: str) -> dict:
    """``("ridge=1e-6", "k=8")`` -> ``{"ridge": 1e-06, "k": 8}`` (Python literals, else str)."""
    import ast

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint=option)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


@click.command(
    name="scan",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.option("--dataset", default="digits", show_default=True,
              help="Registered dataset (see `markovphase datasets`); its parameters are further "
                   "options, e.g. --path FILE --crop 27.")
@click.option("--cmi", default="gaussian", show_default=True,
              help="CMI estimator (see `markovphase plugins`).")
@click.option("--cmi-param", multiple=True, metavar="KEY=VALUE",
              help="Estimator parameter, repeatable (e.g. --cmi-param ridge=1e-6).")
@click.option("--probe", default="cmi", show_default=True, help="Locality probe.")
@click.option("--probe-param", multiple=True, metavar="KEY=VALUE",
              help="Probe parameter, repeatable.")
@click.option("--times", default="0:1:0.1", show_default=True,
              help="Diffusion times: comma list or start:stop:step.")
@click.option("--radii", default=None,
              help="Radii: comma list or start:stop. Default: 1 up to the largest radius that "
                   "leaves C non-empty, at most 12.")
@click.option("--site", default=None, help="A's site as comma coordinates (default: centre).")
@click.option("--patch", default=1, show_default=True, help="Side of A.")
@click.option("--schedule", default="linear", show_default=True,
              type=click.Choice(["linear", "cosine", "vp-linear", "ve"]))
@click.option("--max-samples", type=int, default=None,
              help="Use at most this many samples (a seeded random subset).")
@click.option("--jobs", "n_jobs", type=int, default=1, show_default=True,
              help="Cells in parallel (joblib).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--window-threshold", type=float, default=0.5, show_default=True)
@click.option("--out", "out_dir", default="markovphase-output", show_default=True,
              type=click.Path(file_okay=False), help="Report folder.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Write finished cells to OUT/cache and resume from them.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def scan_command(ctx, dataset, cmi, cmi_param, probe, probe_param, times, radii, site, patch,
                 schedule, max_samples, n_jobs, seed, window_threshold, out_dir, cache, quiet):
    """Measure CMI(t, r), the Markov length and the transition window of a dataset.

    \b
    Examples:
      markovphase scan                                   # digits, gaussian, ~seconds
      markovphase scan --dataset mnist --path t10k-images-idx3-ubyte.gz --crop 27 \\
                       --cmi gaussian --radii 1:12 --out mnist-report
    """
    from .datasets import load_dataset
    from .scan import PhaseScan

    try:
        cmi_cls = plugins.get("cmi", cmi)
        plugins.get("probe", probe)
        cmi_spec = cmi_cls(**parse_params(cmi_param, "--cmi-param")) if cmi_param else cmi
        probe_params = parse_params(probe_param, "--probe-param") or None
        ds = load_dataset(dataset, **dataset_options(dataset, list(ctx.args)))
    except (plugins.UnknownComponentError, TypeError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    X = ds.X
    if max_samples is not None and max_samples < len(X):
        idx = np.sort(np.random.default_rng(seed).choice(len(X), max_samples, replace=False))
        X = X[idx]
    lattice = ds.lattice
    site_t = None if site is None else tuple(parse_ints(site, "--site"))
    if radii is None:
        rmax = lattice.max_radius(site_t, patch)
        radius_list = list(range(1, min(12, rmax - 1) + 1))
    else:
        radius_list = parse_ints(radii, "--radii")
    scan = PhaseScan(
        lattice_shape=ds.lattice_shape, n_channels=ds.n_channels, periodic=ds.periodic,
        times=parse_floats(times, "--times"), radii=radius_list, probe=probe, cmi=cmi_spec,
        probe_params=probe_params,
        sites=site_t, patch=patch, schedule=schedule, window_threshold=window_threshold,
        n_jobs=n_jobs, cache_dir=str(Path(out_dir) / "cache") if cache else None,
        random_state=seed, verbose=0 if quiet else 1,
    )
    click.echo(f"scanning {ds!r}: {len(X)} samples, times {list(scan.times)}, "
               f"radii {radius_list}, probe {probe}, cmi {cmi}", err=True)
    try:
        scan.fit(X)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    command = "markovphase " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    paths = scan.write_report(out_dir, dataset=ds, command=command)
    click.echo(paths["summary.txt"].read_text())
    click.echo(f"report written to {out_dir}/ ({', '.join(p.name for p in paths.values())})")
