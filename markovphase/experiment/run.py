"""The schedule experiment: hybrid sampling with locality schedules, quality, FLOPs and time.

:func:`run_experiment` (what ``markovphase sample`` runs):

1. load a dataset, split it into training rows and held-out rows;
2. build the schedules: the presets ``local-global-local`` (local for t
   outside the window, global inside), ``global-local-global``, ``all-local``,
   ``all-global``, hand-written ones, and optionally the schedule derived from
   a :class:`~markovphase.scan.PhaseScan` of the training rows;
3. fit a global denoiser and one local denoiser per radius (trained networks
   or closed-form Wiener filters), and optionally the schedule derived from
   their held-out gap (:func:`~markovphase.experiment.gap_schedule`);
4. sample every schedule from the *same* starting noise (a paired comparison)
   and score the samples against the real data with :mod:`markovphase.metrics`,
   each metric next to its held-out-real baseline; FLOPs and wall time per phase.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd

from ..lattice import Lattice
from ..schedule import LocalitySchedule
from .config import ExperimentConfig
from .gap import budget_schedule, check_budgets, denoiser_gap, gap_schedule
from .models import fit_denoisers
from .outputs import write_outputs
from .presets import preset_schedules

__all__ = ["run_experiment", "quality_table"]


def quality_table(ds, X_train, y_train, X_held, X_gen, classifier=None) -> pd.DataFrame:
    """The metrics of ``X_gen`` next to those of the held-out real rows ``X_held``.

    Gaussian data with a known covariance: the covariance error (Frobenius,
    and KL where there are more rows than features) with its null quantile;
    labelled images: :func:`~markovphase.metrics.image_quality` with
    ``classifier``; other lattices: :func:`~markovphase.metrics.physics_quality`.
    """
    from .. import metrics

    if ds.covariance is not None:
        rows = []
        for stat in ("frobenius", "kl"):
            if stat == "kl" and len(X_gen) <= X_gen.shape[1]:
                continue
            g = metrics.covariance_error(X_gen, ds.covariance, statistic=stat, n_null=50)
            h = metrics.covariance_error(X_held, ds.covariance, statistic=stat, n_null=50)
            rows.append({"metric": f"covariance_{stat}", "generated": g["stat"],
                         "baseline": h["stat"], "unit": "", "null_q95": g["null_q95"]})
        return pd.DataFrame(rows)
    if classifier is not None:
        return metrics.image_quality(X_train, y_train, X_held, X_gen, classifier=classifier)
    return metrics.physics_quality(X_train, X_held, X_gen, tuple(ds.lattice_shape),
                                   periodic=ds.periodic)


def _schedules(cfg: ExperimentConfig, ds, X_train, grid, verbose):
    """The presets, the extra schedules and the scan-derived one (and the scan);
    ``grid`` is the sampler's time grid (of the weighted criterion)."""
    sc, dv = cfg.schedules, cfg.derivation
    scheds = dict(preset_schedules(sc.radius, sc.window, sc.presets)) if sc.presets else {}
    for name, s in sc.extra.items():
        scheds[name] = s if isinstance(s, LocalitySchedule) else LocalitySchedule.from_json(s)
    if not dv.derive:
        return scheds, None
    from ..scan import PhaseScan
    from ..schedule_scan import check_criterion

    check_criterion(dv.criterion)  # before the scan

    sp = {"times": tuple(np.round(np.linspace(0.1, 0.9, 9), 6)), "radii": (1, 2, 3),
          "cmi": "knn", **(dv.scan_params or {})}
    n_scan = int(sp.pop("n_scan", 2000))
    scan = PhaseScan(lattice_shape=ds.lattice_shape, n_channels=ds.n_channels,
                     periodic=ds.periodic, random_state=cfg.random_state, verbose=verbose,
                     **sp).fit(X_train[:n_scan])
    radii_avail = sorted({sc.radius, *[int(r) for r in sp["radii"]]})
    scheds["derived"] = LocalitySchedule.from_scan(scan, dv.tolerance,
                                                   max_radius=max(sp["radii"]),
                                                   allowed_radii=radii_avail,
                                                   criterion=dv.criterion, grid=grid)
    return scheds, scan


def _check_budgets(dv) -> None:
    check_budgets(dv.gap_budget, dv.gap_accumulate)
    if dv.gap_budget and not dv.gap_radii:
        raise ValueError(f"gap_budget={tuple(dv.gap_budget)!r} needs gap_radii (the local "
                         "networks whose held-out gap it budgets)")


def run_experiment(config: ExperimentConfig | None = None, *, verbose: int = 0, out_dir=None,
                   command: str | None = None) -> dict:
    """Run the schedule experiment; returns tables, samples and schedules.

    Parameters
    ----------
    config : ExperimentConfig or None
        The data, denoisers, schedules, derivations, sampler and repeats
        (``None``: every default, i.e. ``markovphase sample``'s).
    verbose : int
        Progress bars of the scan, the networks and the samplers.
    out_dir : str or None
        Writes the tables, schedules, samples, figure and ``result.json``
        (:func:`~markovphase.experiment.write_outputs`); ``command`` is recorded
        there.

    Returns
    -------
    dict with ``summary`` (one row per schedule: ``global_fraction`` (share of
    t in [0, 1] under the global denoiser), ``global_call_fraction`` (share of
    the sampler's network calls made by it), flops_per_sample,
    flops_vs_all_global, sample_wall_s, ...), ``metrics`` (schedule, metric,
    generated, baseline; repeated sets ``NAME#k`` and ``held-out-real#2``),
    ``phases``, ``samples``, ``schedules``, ``fit_seconds``, ``scan``,
    ``dataset``, ``held_out``, ``gap`` and ``config``.
    """
    from ..datasets import load_dataset
    from ..metrics import FeatureClassifier
    from ..sampling import HybridSampler, time_grid

    cfg = ExperimentConfig() if config is None else config
    data, dv, rep, smp_cfg = cfg.data, cfg.derivation, cfg.repeats, cfg.sampler
    n_samples, seed_split = int(data.n_samples), cfg.random_state
    ds = load_dataset(data.dataset, **data.params)
    n_train = min(int(data.n_train), len(ds.X) - 2)
    idx = np.random.default_rng(seed_split).permutation(len(ds.X))
    tr, ho = idx[:n_train], idx[n_train:n_train + n_samples]
    X_train, X_held = ds.X[tr], ds.X[ho]
    y_train = None if ds.target is None else np.asarray(ds.target)[tr]

    _check_budgets(dv)  # before the scan and the training
    grid = time_grid(smp_cfg.steps, smp_cfg.time_spacing)  # the samplers' own grid
    scheds, scan = _schedules(cfg, ds, X_train, grid, verbose)
    gap_radii = tuple(int(r) for r in (dv.gap_radii or ()))
    radii = sorted({r for s in scheds.values() for r in s.radii} | set(gap_radii))
    lattice = Lattice(ds.lattice_shape, ds.n_channels, ds.periodic)
    g, loc, fit_s = fit_denoisers(cfg.denoisers, radii, X_train, lattice, ds.covariance,
                                  random_state=seed_split, verbose=verbose)
    gap_table = None
    if gap_radii:
        X_probe = ds.X[idx[n_train + n_samples:n_train + 2 * n_samples]]
        if len(X_probe) < 2:
            X_probe = X_held
        gap_table = denoiser_gap(g, {r: loc[r] for r in gap_radii}, X_probe, dv.gap_times,
                                 seed_split, prior_mean=X_train.mean(axis=0), grid=grid)
        tols = np.atleast_1d(np.asarray(dv.gap_tolerance, dtype=float))
        for k, tol in enumerate(tols):
            scheds["derived-gap" if k == 0 else f"derived-gap@{tol:g}"] = gap_schedule(
                gap_table, float(tol), dv.gap_measure)
        if dv.gap_budget:
            from ..denoisers.protocol import denoiser_flops

            d = X_train.shape[1]
            # FLOPs of one call per grid point, counted once for all the budgets
            costs = {r: functools.cache(lambda t, den=den: denoiser_flops(
                         den, n_samples, float(t), d))
                     for r, den in [(None, g), *((r, loc[r]) for r in gap_radii)]}
            for b in dv.gap_budget:
                scheds[f"derived-budget@{float(b):g}"] = budget_schedule(
                    gap_table, float(b), grid, g.path_, costs, smp_cfg.method,
                    dv.gap_accumulate)
    repeat_names = list(dict.fromkeys(["all-global"] * ("all-global" in scheds)
                                      + list(rep.repeat_schedules)))
    unknown = [n for n in repeat_names if n not in scheds]
    if unknown:
        raise ValueError(f"repeat_schedules={list(rep.repeat_schedules)!r}: {unknown} are not "
                         f"schedules of this run; expected names from {sorted(scheds)}")
    seed = seed_split if rep.sample_random_state is None else int(rep.sample_random_state)
    classifier = None
    if ds.covariance is None and y_train is not None and len(ds.lattice_shape) == 2:
        classifier = FeatureClassifier(random_state=seed_split).fit(X_train, y_train)

    def draw(sched, random_state):
        smp = HybridSampler(sched, {r: loc[r] for r in sched.radii},
                            g if sched.uses_global else None, steps=smp_cfg.steps,
                            method=smp_cfg.method, time_spacing=smp_cfg.time_spacing,
                            random_state=random_state, verbose=verbose)
        return smp, smp.sample(n_samples)

    def score(name, X_gen):
        q = quality_table(ds, X_train, y_train, X_held, X_gen, classifier)
        metric_rows.append(q.assign(schedule=name))

    samples, rows, metric_rows, phase_rows = {}, [], [], []
    for name, sched in scheds.items():
        smp, X_gen = draw(sched, seed)
        samples[name] = X_gen
        st, ph = smp.stats_, smp.phases_
        rows.append({"schedule": name, "global_fraction": sched.global_fraction(),
                     "global_call_fraction": ph.n_calls[ph.radius.isna()].sum() / st["n_calls"],
                     "flops_per_sample": st["flops_per_sample"],
                     "sample_wall_s": st["total_wall_s"], "denoise_wall_s": st["denoise_wall_s"],
                     "n_calls": st["n_calls"], "schedule_text": str(sched)})
        phase_rows.append(ph.assign(schedule=name))
        score(name, X_gen)
    n_rep = int(rep.n_global_repeats)
    if n_rep > 0 and repeat_names:
        for name, k in itertools.product(repeat_names, range(1, n_rep + 1)):
            samples[f"{name}#{k + 1}"] = X_gen = draw(scheds[name], seed + k)[1]
            score(f"{name}#{k + 1}", X_gen)
        lo = n_train + 2 * n_samples
        X_held2 = ds.X[idx[lo:lo + n_samples]]
        if len(X_held2) == n_samples:
            score("held-out-real#2", X_held2)
    summary = pd.DataFrame(rows)
    if "all-global" in scheds:
        ref = summary.set_index("schedule").loc["all-global"]
        summary["flops_vs_all_global"] = summary.flops_per_sample / ref.flops_per_sample
        summary["wall_vs_all_global"] = summary.sample_wall_s / ref.sample_wall_s
    mt = pd.concat(metric_rows, ignore_index=True)
    mt = mt[["schedule"] + [c for c in mt.columns if c != "schedule"]]
    result = {"summary": summary, "metrics": mt, "phases": pd.concat(phase_rows, ignore_index=True),
              "samples": samples, "schedules": scheds, "fit_seconds": fit_s, "scan": scan,
              "dataset": ds, "held_out": X_held, "gap": gap_table, "config": cfg}
    if out_dir is not None:
        write_outputs(result, out_dir, command=command)
    return result
