"""``markovphase scan``: the phase-diagram report of one dataset."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from .. import plugins, provenance
from ..outdir import OutputDir
from ..probes.base import short_repr
from ..sampling.grids import time_grid
from ..schedule_scan import SCHEDULE_CRITERIA
from .params import (
    dataset_options,
    echo_warnings,
    library_errors,
    parse_floats,
    parse_ints,
    parse_kv,
    time_spacing_callback,
)

__all__ = ["scan_command", "FORWARD_PATHS"]

#: forward paths offered by --forward-path (markovphase.diffusion.PATHS)
FORWARD_PATHS = ("linear", "cosine", "vp-linear", "ve")


@click.command(
    name="scan",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.option("--dataset", default="macrostates", show_default=True,
              help="Registered dataset (see `markovphase datasets`); its parameters are further "
                   "options, e.g. --path FILE --crop 27. The default, two macrostates on a "
                   "free field, has a transition window.")
@click.option("--cmi", default="gaussian", show_default=True,
              help="CMI estimator (see `markovphase plugins`).")
@click.option("--cmi-param", multiple=True, metavar="KEY=VALUE",
              help="Estimator parameter, repeatable (e.g. --cmi-param ridge=1e-6).")
@click.option("--probe", default="markov", show_default=True,
              help="Locality probe ('cmi' is the deprecated name of 'markov').")
@click.option("--probe-param", multiple=True, metavar="KEY=VALUE",
              help="Probe parameter, repeatable.")
@click.option("--times", default="0:1:0.1", show_default=True,
              help="Diffusion times: comma list or start:stop:step.")
@click.option("--radii", default=None,
              help="Radii: comma list or start:stop. Default: 1 up to the largest radius that "
                   "leaves C non-empty, at most 12.")
@click.option("--site", default=None, help="A's site as comma coordinates (default: centre).")
@click.option("--patch", default=1, show_default=True, help="Side of A.")
@click.option("--forward-path", default="linear", show_default=True,
              type=click.Choice(FORWARD_PATHS),
              help="The forward diffusion path (--path is the dataset file option).")
@click.option("--schedule", "old_schedule", default=None, hidden=True,
              type=click.Choice(FORWARD_PATHS),
              help="Deprecated spelling of --forward-path.")
@click.option("--max-samples", type=click.IntRange(min=1), default=None,
              help="Use at most this many samples (a seeded random subset).")
@click.option("--jobs", "n_jobs", type=int, default=1, show_default=True,
              help="Cells in parallel (joblib).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--window-threshold", type=float, default=0.5, show_default=True)
@click.option("--out", "out_dir", default="markovphase-output", show_default=True,
              type=click.Path(file_okay=False), help="Report folder.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Write finished cells to OUT/cache and resume from them.")
@click.option("--force", is_flag=True,
              help="Replace the report of a different scan in OUT (by default a folder holding "
                   "another scan's report is refused; the same scan resumes).")
@click.option("--schedule-tolerance", type=click.FloatRange(min=0), default=0.01,
              show_default=True,
              help="OUT/schedule.json: at each time the smallest radius whose value is within "
                   "this (nats for CMI), global where none is and inside the window.")
@click.option("--schedule-criterion", type=click.Choice(SCHEDULE_CRITERIA), default="cmi",
              show_default=True,
              help="What --schedule-tolerance bounds: the CMI itself, or the excess x0-error a "
                   "sampler step hands on in units of the data variance (the CMI turned into "
                   "the clean site's excess MSE, weighted by the step of the sampler's grid).")
@click.option("--schedule-steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Sampler steps of the weighted criterion's time grid.")
@click.option("--schedule-time-spacing", default="uniform", show_default=True,
              callback=time_spacing_callback,
              help="Time spacing of the weighted criterion's grid (as sample --time-spacing).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def scan_command(ctx, dataset, cmi, cmi_param, probe, probe_param, times, radii, site, patch,
                 forward_path, old_schedule, max_samples, n_jobs, seed, window_threshold,
                 out_dir, cache, force, schedule_tolerance, schedule_criterion, schedule_steps,
                 schedule_time_spacing, quiet):
    """Measure CMI(t, r), the Markov length and the transition window of a dataset.

    Data and parameters are checked, and OUT is checked to be writable and not
    to hold another scan's report, before any cell is computed.

    \b
    Examples:
      markovphase scan                         # two macrostates: a window, ~seconds
      markovphase scan --dataset mnist --crop 27 --cmi gaussian --radii 1:12 \\
                       --out mnist-report
    """
    from ..datasets import load_dataset
    from ..scan import PhaseScan

    with echo_warnings():
        if old_schedule is not None:
            warnings.warn("--schedule is deprecated and will be removed in the next release; "
                          "use --forward-path", FutureWarning, stacklevel=1)
            forward_path = old_schedule
        with library_errors():
            loader = plugins.component("dataset", dataset)
            ds = load_dataset(loader, **dataset_options(loader.obj, dataset, list(ctx.args)))
            X = ds.sample_rows(max_samples, seed)
            site_t = None if site is None else tuple(parse_ints(site, "--site"))
            if radii is None:
                rmax = ds.lattice.max_radius(site_t, patch)
                if rmax < 2:
                    raise ValueError(f"the lattice {ds.lattice_shape} is too small for a ring: "
                                     f"around the site C is empty from radius {rmax}")
                radius_list = range(1, min(12, rmax - 1) + 1)
            else:
                radius_list = parse_ints(radii, "--radii")
            scan = PhaseScan(
                lattice_shape=ds.lattice_shape, n_channels=ds.n_channels, periodic=ds.periodic,
                times=parse_floats(times, "--times"), radii=radius_list, probe=probe, cmi=cmi,
                cmi_params=parse_kv(cmi_param, "--cmi-param") or None,
                probe_params=parse_kv(probe_param, "--probe-param") or None,
                sites=site_t, patch=patch, path=forward_path,
                window_threshold=window_threshold, n_jobs=n_jobs,
                cache_dir=str(Path(out_dir) / "cache") if cache else None,
                random_state=seed, verbose=0 if quiet else 1,
            )
            key, info = scan.content_key(X)  # every check of fit; nothing computed
            command = provenance.command_line(program="markovphase")
            info.update(dataset=ds.name, command=command)
            with OutputDir(out_dir, key, info, force=force, name="--out",
                           force_hint="--force") as out:
                click.echo(f"scanning {ds!r}: {len(X)} samples, times "
                           f"{short_repr(scan.times)}, radii {short_repr(radius_list)}, probe "
                           f"{probe}, cmi {cmi}", err=True)
                scan.fit(X)
                out.commit()  # OUT holds this scan's report from now on
                paths = scan.write_report(
                    out_dir, dataset=ds, command=command, schedule_tolerance=schedule_tolerance,
                    schedule_criterion=schedule_criterion,
                    schedule_grid=time_grid(schedule_steps, schedule_time_spacing))
    click.echo(paths["summary.txt"].read_text())
    click.echo(f"report written to {out_dir}/ ({', '.join(p.name for p in paths.values())})")
