"""``markovphase calibrate``: any CMI estimator against the exact calibration suite."""

from __future__ import annotations

import click

from .. import plugins, provenance
from .params import echo_warnings, library_errors, parse_floats, parse_ints, parse_kv
from .scan import FORWARD_PATHS


@click.command(name="calibrate")
@click.option("--cmi", required=True, help="CMI estimator (see `markovphase plugins`).")
@click.option("--cmi-param", multiple=True, metavar="KEY=VALUE",
              help="Estimator parameter, repeatable (e.g. --cmi-param n_components=20).")
@click.option("--case", "case_names", multiple=True, metavar="NAME[:K=V,...]",
              help="Calibration case, repeatable, optionally with its parameters, e.g. "
                   "class-templates:tau=0.25 (default: one of each: gaussian-field, "
                   "class-templates, class-gaussians, kmeans-clusters, ising-chain).")
@click.option("--case-param", multiple=True, metavar="KEY=VALUE",
              help="Case parameter for every --case, repeatable (e.g. --case-param tau=0.3).")
@click.option("--times", default="0.1,0.3,0.5,0.7", show_default=True,
              help="Diffusion times: comma list or start:stop:step.")
@click.option("--radii", default="1:6", show_default=True, help="Radii: comma list or start:stop.")
@click.option("--n-samples", type=int, default=10_000, show_default=True,
              help="Clean samples given to the estimator per case.")
@click.option("--n-mc", type=int, default=20_000, show_default=True,
              help="Monte Carlo rows of the exact values.")
@click.option("--path", "path_name", default="linear", show_default=True,
              type=click.Choice(FORWARD_PATHS), help="Forward path.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the cases, the samples and the estimator.")
@click.option("--out", "out_dir", default="markovphase-calibration", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder for calibration.csv / .png / .json.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Cache exact values in OUT/cache.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def calibrate_command(cmi, cmi_param, case_names, case_param, times, radii, n_samples, n_mc,
                      path_name, seed, out_dir, cache, quiet):
    """Run a CMI estimator on exact lattice cases; print estimate vs exact per (case, t, r).

    A cell passes when |estimate - exact| <= max(0.01 nats, 20 %).

    \b
    Examples:
      markovphase calibrate --cmi gaussian
      markovphase calibrate --cmi mixture --case kmeans-clusters --case-param n_clusters=30
      markovphase calibrate --cmi knn --case ising-chain --radii 1,2,3 --n-samples 5000
    """
    from ..calibration import CASES, get_case
    from ..calibration.report import format_table, write_calibration
    from ..calibration.runner import run_calibration

    with echo_warnings(), library_errors():
        est = plugins.resolve("cmi", cmi, **parse_kv(cmi_param, "--cmi-param"))
        case_params = parse_kv(case_param, "--case-param")
        names = list(case_names) or list(CASES)
        cases = [get_case(name, **{"random_state": seed, **case_params}) for name in names]
        table = run_calibration(est, cases=cases, times=parse_floats(times, "--times"),
                                radii=parse_ints(radii, "--radii"), n_samples=n_samples,
                                n_mc=n_mc, path=path_name, random_state=seed,
                                cache_dir=f"{out_dir}/cache" if cache else None,
                                verbose=0 if quiet else 1)
    command = provenance.command_line(program="markovphase")
    meta = {"cmi": cmi, "estimator": repr(est), "command": command, "seed": seed,
            "n_samples": n_samples, "n_mc": n_mc, "path": path_name,
            "provenance": provenance.record()}
    paths = write_calibration(table, out_dir, meta, title=f"{cmi}: {command}")
    click.echo(format_table(table))
    click.echo(f"written: {', '.join(paths.values())}")
