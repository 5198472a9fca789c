"""``markovphase sample``: the schedule experiment (hybrid sampling, quality, FLOPs, time).

The command parses its options into an
:class:`~markovphase.experiment.ExperimentConfig` and calls
:func:`~markovphase.experiment.run_experiment`; it is added to the command line
by :mod:`markovphase.cli.commands` through the ``markovphase_register_commands``
hook, like any plugin command.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from .. import experiment as ex
from .. import provenance
from ..outdir import check_writable_dir
from ..sampling import METHODS
from ..schedule import LocalitySchedule
from ..schedule_scan import SCHEDULE_CRITERIA
from .params import (
    echo_warnings,
    library_errors,
    parse_floats,
    parse_ints,
    parse_kv,
    parse_pair,
    time_spacing_callback,
)

__all__ = ["sample_command", "experiment_config"]


def _tolerances(ctx, param, value):
    tols = parse_floats(value, "--gap-tolerance")
    if not tols or min(tols) < 0:
        raise click.BadParameter(f"{value!r}: expected numbers >= 0 (comma list)")
    return tuple(tols) if len(tols) > 1 else tols[0]


def _schedule_files(items) -> dict[str, LocalitySchedule]:
    """``NAME=PATH`` items read and validated now, before any work (one line per bad file)."""
    out = {}
    for name, path in parse_kv(items, "--schedule", literal=False).items():
        try:
            out[name] = LocalitySchedule.from_json(Path(path))
        except ValueError as exc:
            raise click.BadParameter(f"{name}={path}: {exc}", param_hint="--schedule") from None
    return out


def experiment_config(opts: dict) -> ex.ExperimentConfig:
    """The :class:`ex.ExperimentConfig` of the parsed options of ``markovphase sample``."""
    return ex.ExperimentConfig(
        data=ex.DataConfig(opts["dataset"], parse_kv(opts["data_params"], "--data"),
                        opts["n_train"], opts["n_samples"]),
        denoisers=ex.DenoiserConfig(opts["denoiser"],
                                 parse_kv(opts["denoiser_params"], "--denoiser-param"),
                                 parse_kv(opts["global_params"], "--global-param"),
                                 opts["center"], opts["model_dir"]),
        schedules=ex.ScheduleConfig(opts["radius"], parse_pair(opts["window"], "--window"),
                                 opts["presets"] or ex.PRESETS,
                                 _schedule_files(opts["schedule_files"])),
        derivation=ex.DerivationConfig(
            opts["derive"], parse_kv(opts["scan_params"], "--scan"), opts["tolerance"],
            opts["schedule_criterion"],
            tuple(parse_ints(opts["gap_radii"], "--gap-radii")),
            tuple(parse_floats(opts["gap_times"], "--gap-times")), opts["gap_tolerance"],
            opts["gap_measure"], tuple(parse_floats(opts["gap_budget"], "--gap-budget")),
            opts["gap_accumulate"]),
        sampler=ex.SamplerConfig(opts["steps"], opts["method"], opts["time_spacing"]),
        repeats=ex.RepeatConfig(opts["global_repeats"], tuple(opts["repeat_schedules"]),
                             opts["sample_seed"]),
        random_state=opts["random_state"])


@click.command(name="sample")
@click.option("--dataset", default="mnist", show_default=True, help="A registered dataset.")
@click.option("--data", "data_params", multiple=True, metavar="KEY=VALUE",
              help="Dataset parameter, e.g. --data path=t10k-images-idx3-ubyte.gz --data crop=27.")
@click.option("--n-train", default=2000, show_default=True, type=click.IntRange(min=2))
@click.option("--n-samples", default=500, show_default=True, type=click.IntRange(min=2))
@click.option("--radius", default=3, show_default=True, type=click.IntRange(min=0),
              help="Local radius of the preset schedules.")
@click.option("--window", default="0.2,0.5", show_default=True,
              help="Global window (lo,hi) of the preset schedules.")
@click.option("--preset", "presets", multiple=True, type=click.Choice(ex.PRESETS),
              help="Preset schedules to run (default: all four).")
@click.option("--schedule", "schedule_files", multiple=True, metavar="NAME=PATH",
              help="Extra locality schedule from a JSON file (markovphase.schedule schema).")
@click.option("--derive/--no-derive", default=True, show_default=True,
              help="Add the schedule derived from a PhaseScan of the training rows.")
@click.option("--scan", "scan_params", multiple=True, metavar="KEY=VALUE",
              help="PhaseScan parameter for the derived schedule, e.g. --scan cmi=knn "
                   "(and n_scan=ROWS).")
@click.option("--tolerance", default=0.01, show_default=True, type=float,
              help="Tolerance of the derived schedule (as --schedule-criterion says).")
@click.option("--schedule-criterion", default="cmi", show_default=True,
              type=click.Choice(SCHEDULE_CRITERIA),
              help="What --tolerance bounds for 'derived': the scan's CMI itself, or the "
                   "excess x0-error one step of this run's sampler grid hands on, in units "
                   "of the data variance (as markovphase scan --schedule-criterion).")
@click.option("--denoiser", default="network", show_default=True,
              type=click.Choice(ex.DENOISER_KINDS))
@click.option("--denoiser-param", "denoiser_params", multiple=True, metavar="KEY=VALUE",
              help="Denoiser parameter, e.g. --denoiser-param epochs=5.")
@click.option("--global-param", "global_params", multiple=True, metavar="KEY=VALUE",
              help="Override for the global denoiser only, e.g. --global-param width=32.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Cache of trained networks: reused when data and parameters match.")
@click.option("--gap-radii", default="", show_default=False, metavar="R1,R2,...",
              help="Also derive the schedule 'derived-gap' from the fitted networks: at each "
                   "time the smallest of these radii within --gap-tolerance of the global one.")
@click.option("--gap-tolerance", default="0.05", show_default=True, callback=_tolerances,
              metavar="TOL[,TOL...]",
              help="Excess held-out x0-MSE allowed by 'derived-gap' (as --gap-measure says); "
                   "more values add 'derived-gap@TOL' schedules.")
@click.option("--gap-measure", default="rel_gap", show_default=True,
              type=click.Choice(ex.GAP_MEASURES),
              help="What --gap-tolerance bounds: excess MSE over the global MSE (rel_gap), over "
                   "what the global denoiser explains beyond the mean (rel_explained), or the "
                   "excess one sampler step hands on, in units of the data variance "
                   "(weighted_gap).")
@click.option("--gap-budget", default="", metavar="B[,B...]",
              help="Also derive 'derived-budget@B': the cheapest schedule on this run's "
                   "sampler grid whose excess over the whole trajectory (the local networks' "
                   "held-out gap at --gap-times, summed as --gap-accumulate says) is at most B "
                   "data variances. Needs --gap-radii.")
@click.option("--gap-accumulate", default="coherent", show_default=True,
              type=click.Choice(ex.ACCUMULATIONS),
              help="How --gap-budget adds the steps: RMS errors add (coherent, the triangle "
                   "inequality) or squared errors add (independent, optimistic).")
@click.option("--gap-times", default="0.1:0.9:0.1", show_default=True,
              help="Times at which 'derived-gap' compares local and global (comma list or "
                   "start:stop:step).")
@click.option("--time-spacing", default="uniform", show_default=True,
              callback=time_spacing_callback,
              help="Sampler time grid: uniform, quadratic, cubic or a power rho >= 1 "
                   "(t_i = (1 - i/steps)^rho; larger rho: finer near the data).")
@click.option("--center/--no-center", default=False, show_default=True,
              help="Fit the denoisers on per-pixel centred data (CenteredDenoiser).")
@click.option("--global-repeats", default=0, show_default=True, type=click.IntRange(min=0),
              help="Extra independent all-global sample sets and a second held-out real set "
                   "(the metrics' same-distribution spread).")
@click.option("--repeat-schedule", "repeat_schedules", multiple=True, metavar="NAME",
              help="Also sample this schedule --global-repeats more times, with the seeds of "
                   "the all-global repeats (repeatable).")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--method", default="heun", show_default=True, type=click.Choice(METHODS))
@click.option("--random-state", default=0, show_default=True, type=int,
              help="Seeds the train/held-out split, the networks and the classifier.")
@click.option("--sample-seed", default=None, type=int,
              help="Seeds the samplers' starting noise (default: --random-state); a new value "
                   "draws fresh sample sets from the same networks.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (tables, schedules, samples, figure, result.json).")
@click.option("-v", "--verbose", count=True,
              help="More output (progress bars are on by default; -q turns them off).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def sample_command(out_dir, verbose, quiet, **opts):
    """Sample with locality schedules; report quality, FLOPs and wall time per schedule.

    \b
    markovphase sample --dataset mnist --data path=.../t10k-images-idx3-ubyte.gz \\
        --data crop=27 --denoiser-param epochs=5 --out sample-report/
    """
    command = provenance.command_line(program="markovphase")
    with echo_warnings(), library_errors():
        config = experiment_config(opts)
        check_writable_dir(out_dir, "--out")  # before minutes of training
        res = ex.run_experiment(config, verbose=0 if quiet else max(1, verbose),
                                out_dir=out_dir, command=command)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        click.echo(res["summary"].drop(columns=["schedule_text"]).to_string(index=False))
        click.echo("")
        click.echo(res["metrics"].pivot_table(index="metric", columns="schedule",
                                              values="generated").to_string())
    click.echo(f"\nwritten to {out_dir}")
