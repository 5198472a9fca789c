"""``markovphase sample``: the schedule experiment (hybrid sampling, quality, FLOPs, time).

It is added to the command line by :mod:`markovphase.commands` through the
``markovphase_register_commands`` hook, like any plugin command.

:func:`run_experiment` does the work (also used by ``examples/hybrid_sampling.py``
and ``benchmarks/hybrid_mnist.py``):

1. load a dataset, split it into training rows and held-out rows;
2. fit a global denoiser and one local denoiser per radius (trained networks,
   ``denoiser="network"``, or closed-form Wiener filters, ``"linear"``);
3. build the schedules: the presets ``local-global-local`` (local for
   t outside the window, global inside), ``global-local-global``, ``all-local``,
   ``all-global``, hand-written JSON files, and optionally the schedule derived
   from a :class:`~markovphase.scan.PhaseScan` of the training rows;
4. sample every schedule from the *same* starting noise (a paired comparison)
   and score the samples against the real data with :mod:`markovphase.metrics`,
   each metric next to its held-out-real baseline; FLOPs and wall time per phase.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from . import plugins
from .schedule import LocalitySchedule

__all__ = ["run_experiment", "preset_schedules", "denoiser_gap", "gap_schedule", "PRESETS",
           "GAP_MEASURES"]

PRESETS = ("local-global-local", "global-local-global", "all-local", "all-global")


def preset_schedules(radius: int, window=(0.2, 0.5), names=PRESETS) -> dict:
    """The preset schedules with local radius ``radius`` and window ``(lo, hi)``.

    ``local-global-local``: r on ``[0, lo)`` and ``[hi, 1]``, global on ``[lo, hi)``
    (the paper's r = 3 with window (0.2, 0.5)); ``global-local-global`` the
    reverse; ``all-local``; ``all-global``.
    """
    lo, hi = (float(w) for w in window)
    if not 0 < lo < hi < 1:
        raise ValueError(f"window={window!r} must satisfy 0 < lo < hi < 1")
    table = {
        "local-global-local": [(0, lo, radius), (lo, hi, None), (hi, 1, radius)],
        "global-local-global": [(0, lo, None), (lo, hi, radius), (hi, 1, None)],
        "all-local": [(0, 1, radius)],
        "all-global": [(0, 1, None)],
    }
    unknown = set(names) - set(table)
    if unknown:
        raise ValueError(f"unknown preset(s) {sorted(unknown)}; expected {list(table)}")
    return {n: LocalitySchedule(table[n], metadata={"preset": n}) for n in names}


def _fit_denoisers(kind, radii, X, lattice_shape, n_channels, periodic, covariance, params, seed,
                   verbose, center=False, global_params=None, model_dir=None):
    if kind == "network":
        from .denoisers import GlobalDenoiser, LocalDenoiser

        common = {"lattice_shape": lattice_shape, "n_channels": n_channels,
                  "periodic": periodic, "random_state": seed, "verbose": verbose,
                  "device": "cpu", **params}
        # local-only parameters (depth, position_channels) are not the global network's
        g = GlobalDenoiser(**{k: v for k, v in {**common, **(global_params or {})}.items()
                              if k not in ("depth", "position_channels")})
        loc = {r: LocalDenoiser(radius=r, **common) for r in radii}
    elif kind == "linear":
        from .denoisers import LinearLocalDenoiser

        if model_dir is not None:
            raise ValueError("model_dir caches trained networks; it needs denoiser='network'")
        common = {"lattice_shape": lattice_shape, "n_channels": n_channels,
                  "periodic": periodic, "covariance": covariance, **params}
        g = LinearLocalDenoiser(radius=None, **{**common, **(global_params or {})})
        loc = {r: LinearLocalDenoiser(radius=r, **common) for r in radii}
    else:
        raise ValueError(f"denoiser={kind!r}; expected 'network' or 'linear'")
    times, fitted = {}, {}
    for name, est in [("global", g)] + [(f"r={r}", e) for r, e in loc.items()]:
        t0 = time.perf_counter()
        fitted[name] = _fit_or_load(est, X, center, model_dir)
        times[name] = time.perf_counter() - t0
    return fitted["global"], {r: fitted[f"r={r}"] for r in loc}, times


def _fit_or_load(est, X, center: bool, model_dir):
    """Fit ``est`` (wrapped in CenteredDenoiser when ``center``), or load it from ``model_dir``.

    The file name hashes the training rows and every parameter of the
    network but ``verbose`` and ``device`` (:func:`markovphase.cache.cache_key`),
    so a changed setting trains afresh; weights go through ``save``/``load``
    (``torch.load(weights_only=True)``) and the centring mean through ``numpy.save``.
    """
    from .sampling import CenteredDenoiser

    wrap = CenteredDenoiser(est) if center else est
    if model_dir is None:
        return wrap.fit(X)
    from .cache import cache_key

    radius = getattr(est, "radius", None)
    params = {k: v for k, v in est.get_params().items() if k not in ("verbose", "device")}
    key = cache_key(X, {"class": type(est).__name__, "params": params, "center": bool(center)})
    stem = Path(model_dir) / f"{'global' if radius is None else f'r{radius}'}-{key}"
    weights, mean = stem.with_suffix(".pt"), stem.with_suffix(".mean.npy")
    if weights.exists() and (mean.exists() or not center):
        inner = type(est).load(weights, device="cpu")
        if not center:
            return inner
        return CenteredDenoiser.from_fitted(inner, np.load(mean))
    wrap.fit(X)
    stem.parent.mkdir(parents=True, exist_ok=True)
    inner = wrap.estimator_ if center else wrap
    tmp = stem.with_suffix(".pt.tmp")
    inner.save(tmp)
    if center:
        np.save(mean, wrap.mean_)
    os.replace(tmp, weights)
    return wrap


def _quality(ds, X_train, y_train, X_held, X_gen, classifier):
    from . import metrics

    shape = tuple(ds.lattice_shape)
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
    return metrics.physics_quality(X_train, X_held, X_gen, shape, periodic=ds.periodic)


def denoiser_gap(global_denoiser, local_denoisers: dict, X, times, random_state=0,
                 prior_mean=None):
    """Held-out x0-MSE of each local denoiser against the global one, per time.

    Every denoiser sees the same noisy rows ``x_t = alpha x0 + sigma z`` (one
    draw of ``z`` per time, a paired comparison). Returns a DataFrame with
    ``t, r, local_mse, global_mse, gap = local - global`` (data units^2 per
    feature), ``rel_gap = gap / global_mse`` and

    ``rel_explained = gap / (prior_mse - global_mse)``,

    the share of what the global denoiser explains beyond the prior mean
    (``prior_mse = mean |x0 - prior_mean|^2``, the MSE of predicting the mean)
    that the local one misses: ``1 - R2_local / R2_global``. ``rel_gap`` is
    ~0 at high noise for any denoiser (both MSEs approach ``prior_mse``);
    ``rel_explained`` is not, so it sees a local denoiser that misses the
    little (global) information a very noisy sample carries.

    Parameters
    ----------
    prior_mean : array of shape (n_features,) or None
        The prior predictor (e.g. the training mean); ``None`` = the mean of ``X``.
    """
    from .diffusion import get_path

    X = np.asarray(X, dtype=np.float64)
    path = get_path(getattr(getattr(global_denoiser, "estimator_", global_denoiser),
                            "schedule", "linear"))
    mu = X.mean(axis=0) if prior_mean is None else np.asarray(prior_mean, dtype=np.float64)
    prior_mse = float(np.mean((X - mu) ** 2))
    rng = np.random.default_rng(random_state)
    rows = []
    for t in times:
        z = rng.standard_normal(X.shape)
        xt = float(path.alpha(t)) * X + float(path.sigma(t)) * z
        g = float(np.mean((global_denoiser.denoise(xt, float(t)) - X) ** 2))
        explained = prior_mse - g
        for r, den in local_denoisers.items():
            m = float(np.mean((den.denoise(xt, float(t)) - X) ** 2))
            rows.append({"t": float(t), "r": int(r), "local_mse": m, "global_mse": g,
                         "prior_mse": prior_mse, "gap": m - g,
                         "rel_gap": (m - g) / g if g > 0 else np.inf,
                         "rel_explained": (m - g) / explained if explained > 0 else np.inf})
    return pd.DataFrame(rows)


GAP_MEASURES = ("rel_gap", "rel_explained")


def gap_schedule(gap_table: pd.DataFrame, tolerance: float,
                 measure: str = "rel_gap") -> LocalitySchedule:
    """The schedule of a :func:`denoiser_gap` table at a tolerance on ``measure``.

    At each time of the table, the smallest radius with ``measure <= tolerance``
    (global where none is), between times the more demanding of the two
    neighbours (:meth:`LocalitySchedule.from_radii`, ``"conservative"``).
    ``measure`` is ``"rel_gap"`` (excess MSE over the global MSE) or
    ``"rel_explained"`` (excess MSE over what the global denoiser explains
    beyond the mean, see :func:`denoiser_gap`).
    """
    if measure not in GAP_MEASURES:
        raise ValueError(f"gap measure={measure!r}; expected one of {GAP_MEASURES}")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"gap_tolerance={tolerance!r} must be a finite number >= 0")
    best = (gap_table[gap_table[measure] <= tolerance].sort_values("r").groupby("t").r.first())
    tt = np.asarray(sorted(gap_table.t.unique()))
    return LocalitySchedule.from_radii(
        tt, [best.get(t, None) for t in tt], allowed_radii=sorted(gap_table.r.unique()),
        metadata={"source": "denoiser gap of the fitted networks", "measure": measure,
                  "tolerance": tolerance, "times": tt.tolist(),
                  measure: {int(r): g.sort_values("t")[measure].round(6).tolist()
                            for r, g in gap_table.groupby("r")}})


def parse_time_spacing(value, name="time_spacing"):
    """A named time grid (:data:`~markovphase.sampling.TIME_SPACINGS`) or a power >= 1.

    Raises a :class:`click.BadParameter` naming ``name`` for anything
    :func:`~markovphase.sampling.time_grid` rejects.
    """
    from .sampling import TIME_SPACINGS, time_grid

    spacing = value
    if value not in TIME_SPACINGS:
        try:
            spacing = float(value)
        except (TypeError, ValueError):
            pass
    try:
        time_grid(1, spacing)
    except ValueError:
        raise click.BadParameter(f"{name} {value!r}: expected one of "
                                 f"{', '.join(TIME_SPACINGS)} or a power >= 1 such as 2.5"
                                 ) from None
    return spacing


def run_experiment(dataset="mnist", dataset_params=None, n_train=2000, n_samples=500,
                   radius=3, window=(0.2, 0.5), presets=PRESETS, schedules=None,
                   derive=True, scan_params=None, tolerance=0.01, denoiser="network",
                   denoiser_params=None, steps=20, method="heun", center=False, gap_radii=None,
                   gap_times=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                   gap_tolerance=0.05, gap_measure="rel_gap", n_global_repeats=0,
                   repeat_schedules=(),
                   global_denoiser_params=None, model_dir=None, time_spacing="uniform",
                   random_state=0, sample_random_state=None, verbose=0,
                   out_dir=None) -> dict:
    """Run the schedule experiment; returns tables, samples and schedules.

    Parameters
    ----------
    dataset, dataset_params : a registered dataset and its parameters.
    n_train : training rows (the rest, up to ``n_samples``, are held out).
    n_samples : samples per schedule (and held-out rows for the baseline).
    radius, window, presets : the preset schedules (:func:`preset_schedules`).
    schedules : dict name -> LocalitySchedule / JSON path, extra schedules.
    derive : bool
        Add the schedule ``derived`` from a PhaseScan of the training rows.
    scan_params : dict
        PhaseScan parameters (default times 0.1..0.9, radii (1, 2, 3), cmi "knn",
        the lattice of the dataset); ``n_scan`` (rows used, default 2000).
    tolerance : float
        :meth:`LocalitySchedule.from_scan` tolerance (units of the probe value).
    denoiser : {"network", "linear"}
    denoiser_params : dict, passed to the denoisers (epochs, width, ...).
    global_denoiser_params : dict or None
        Overrides of ``denoiser_params`` for the global denoiser only (e.g. a
        wider, longer-trained global network next to small local ones: the
        paper's premise is that the local networks can be small).
    model_dir : str or None
        Cache of trained networks (``denoiser="network"``): each is saved
        there under a hash of its training rows and parameters and loaded,
        not retrained, by a later run with the same settings.
    steps, method, time_spacing : the sampler's (:class:`~markovphase.sampling.HybridSampler`).
    gap_radii : sequence of int or None
        Also derive a schedule ``derived-gap`` from the fitted denoisers
        themselves (:func:`denoiser_gap` on rows outside the training and
        baseline sets): at each of ``gap_times`` the smallest radius whose
        relative excess MSE over the global denoiser is ``<= gap_tolerance``
        (:func:`gap_schedule`). A sequence of tolerances adds one schedule per
        value: ``derived-gap`` for the first, ``derived-gap@TOL`` for the others.
    gap_measure : {"rel_gap", "rel_explained"}
        What ``gap_tolerance`` bounds (:func:`gap_schedule`).
    n_global_repeats : int
        Noise scale of the metrics: sample ``all-global`` this many more times
        from independent starting noise (seeds ``sample_random_state + k``) and score a
        second held-out real set of the same size; their metric rows are
        ``all-global#k`` and ``held-out-real#2`` in ``metrics`` (not in
        ``summary``), so "within noise of all-global" is judged against a
        measured spread at the same ``n_samples``.
    repeat_schedules : sequence of str
        Further schedules sampled ``n_global_repeats`` more times with the same
        seeds as the all-global repeats (rows ``NAME#k`` in ``metrics``): each
        repeat of a schedule starts from the same noise as the all-global set
        of that seed, so the pair measures what the schedule changes and the
        sets measure its spread.
    random_state : int
        Seeds the split into training / held-out rows, the networks, the scan
        and the classifier.
    sample_random_state : int or None
        Seeds the samplers' starting noise (``None``: ``random_state``). A new
        value draws fresh sample sets from the same split and networks, e.g. a
        confirmation run of a schedule chosen on earlier samples.
    center : bool
        Wrap every denoiser in :class:`~markovphase.sampling.CenteredDenoiser`
        (per-pixel mean removed; lets convolutional local networks represent
        a position-dependent mean).
    out_dir : str or None
        Writes ``summary.csv``, ``metrics.csv``, ``phases.csv``, ``gap.csv`` (with
        ``gap_radii``), ``schedules/*.json``,
        ``samples.npz``, ``samples.png`` and ``result.json``.

    Returns
    -------
    dict with ``summary`` (one row per schedule: ``global_fraction`` (share of
    t in [0, 1] under the global denoiser), ``global_call_fraction`` (share of
    the sampler's network calls made by it), flops_per_sample,
    flops_vs_all_global, sample_wall_s, ...), ``metrics`` (schedule, metric,
    generated, baseline), ``phases``, ``samples``, ``schedules``, ``fit_seconds``.
    """
    from . import load_dataset
    from .metrics import FeatureClassifier
    from .sampling import HybridSampler

    ds = load_dataset(dataset, **(dataset_params or {}))
    rng = np.random.default_rng(random_state)
    n_train = min(int(n_train), len(ds.X) - 2)
    idx = rng.permutation(len(ds.X))
    tr, ho = idx[:n_train], idx[n_train:n_train + int(n_samples)]
    X_train, X_held = ds.X[tr], ds.X[ho]
    y_train = None if ds.target is None else np.asarray(ds.target)[tr]

    scheds = dict(preset_schedules(radius, window, presets)) if presets else {}
    for name, s in (schedules or {}).items():
        scheds[name] = s if isinstance(s, LocalitySchedule) else LocalitySchedule.from_json(s)
    scan = None
    if derive:
        from .scan import PhaseScan

        sp = {"times": tuple(np.round(np.linspace(0.1, 0.9, 9), 6)), "radii": (1, 2, 3),
              "cmi": "knn", **(scan_params or {})}
        n_scan = int(sp.pop("n_scan", 2000))
        scan = PhaseScan(lattice_shape=ds.lattice_shape, n_channels=ds.n_channels,
                         periodic=ds.periodic, random_state=random_state, verbose=verbose,
                         **sp).fit(X_train[:n_scan])
        radii_avail = sorted({radius, *[int(r) for r in sp["radii"]]})
        scheds["derived"] = LocalitySchedule.from_scan(scan, tolerance,
                                                       max_radius=max(sp["radii"]),
                                                       allowed_radii=radii_avail)
    gap_radii = tuple(int(r) for r in (gap_radii or ()))
    radii = sorted({r for s in scheds.values() for r in s.radii} | set(gap_radii))
    g, loc, fit_s = _fit_denoisers(denoiser, radii, X_train, ds.lattice_shape, ds.n_channels,
                                   ds.periodic, ds.covariance, denoiser_params or {},
                                   random_state, verbose, center,
                                   global_params=global_denoiser_params, model_dir=model_dir)
    gap_table = None
    if gap_radii:
        X_probe = ds.X[idx[n_train + int(n_samples):n_train + 2 * int(n_samples)]]
        if len(X_probe) < 2:
            X_probe = X_held
        gap_table = denoiser_gap(g, {r: loc[r] for r in gap_radii}, X_probe, gap_times,
                                 random_state, prior_mean=X_train.mean(axis=0))
        tols = np.atleast_1d(np.asarray(gap_tolerance, dtype=float))
        for k, tol in enumerate(tols):
            scheds["derived-gap" if k == 0 else f"derived-gap@{tol:g}"] = gap_schedule(
                gap_table, float(tol), gap_measure)
    repeat_names = list(dict.fromkeys(["all-global"] * ("all-global" in scheds)
                                      + list(repeat_schedules)))
    unknown = [n for n in repeat_names if n not in scheds]
    if unknown:
        raise ValueError(f"repeat_schedules={list(repeat_schedules)!r}: {unknown} are not "
                         f"schedules of this run; expected names from {sorted(scheds)}")
    seed = random_state if sample_random_state is None else int(sample_random_state)
    classifier = None
    if ds.covariance is None and y_train is not None and len(ds.lattice_shape) == 2:
        classifier = FeatureClassifier(random_state=random_state).fit(X_train, y_train)

    def draw(sched, random_state):
        smp = HybridSampler(sched, {r: loc[r] for r in sched.radii},
                            g if sched.uses_global else None, steps=steps, method=method,
                            time_spacing=time_spacing, random_state=random_state,
                            verbose=verbose)
        return smp, smp.sample(int(n_samples))

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
        q = _quality(ds, X_train, y_train, X_held, X_gen, classifier)
        metric_rows.append(q.assign(schedule=name))
    if int(n_global_repeats) > 0 and repeat_names:
        for name, k in itertools.product(repeat_names, range(1, int(n_global_repeats) + 1)):
            X_gen = draw(scheds[name], seed + k)[1]
            samples[f"{name}#{k + 1}"] = X_gen
            q = _quality(ds, X_train, y_train, X_held, X_gen, classifier)
            metric_rows.append(q.assign(schedule=f"{name}#{k + 1}"))
        lo = n_train + 2 * int(n_samples)
        X_held2 = ds.X[idx[lo:lo + int(n_samples)]]
        if len(X_held2) == int(n_samples):
            q = _quality(ds, X_train, y_train, X_held, X_held2, classifier)
            metric_rows.append(q.assign(schedule="held-out-real#2"))
    summary = pd.DataFrame(rows)
    if "all-global" in scheds:
        ref = summary.set_index("schedule").loc["all-global"]
        summary["flops_vs_all_global"] = summary.flops_per_sample / ref.flops_per_sample
        summary["wall_vs_all_global"] = summary.sample_wall_s / ref.sample_wall_s
    mt = pd.concat(metric_rows, ignore_index=True)
    mt = mt[["schedule"] + [c for c in mt.columns if c != "schedule"]]
    phases = pd.concat(phase_rows, ignore_index=True)
    result = {"summary": summary, "metrics": mt, "phases": phases, "samples": samples,
              "schedules": scheds, "fit_seconds": fit_s, "scan": scan, "dataset": ds,
              "held_out": X_held, "gap": gap_table}
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


def write_outputs(result: dict, out_dir) -> Path:
    """Write the experiment's tables, schedules, samples and figure to ``out_dir``."""
    out = Path(out_dir)
    (out / "schedules").mkdir(parents=True, exist_ok=True)
    result["summary"].to_csv(out / "summary.csv", index=False)
    result["metrics"].to_csv(out / "metrics.csv", index=False)
    result["phases"].to_csv(out / "phases.csv", index=False)
    if result.get("gap") is not None:
        result["gap"].to_csv(out / "gap.csv", index=False)
    for name, s in result["schedules"].items():
        s.to_json(out / "schedules" / f"{name}.json")
    np.savez_compressed(out / "samples.npz", **{k.replace("-", "_"): v
                                                for k, v in result["samples"].items()})
    with open(out / "result.json", "w", encoding="utf-8") as fh:
        json.dump({"summary": result["summary"].to_dict(orient="records"),
                   "fit_seconds": result["fit_seconds"]}, fh, indent=2, default=float)
    plot_samples(result, out / "samples.png")
    return out


def plot_samples(result: dict, path, n_show: int = 8):
    """One row of samples per schedule (plus held-out real), with its schedule drawn.

    Every row starts from the same noise, so a column compares schedules on one
    starting point; the repeated sets (``NAME#k``, other noise) are left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = result["dataset"]
    shape = tuple(ds.lattice_shape)
    names = [n for n in result["samples"] if n in result["schedules"]]
    rows = [("real (held out)", result["held_out"])] + [(n, result["samples"][n]) for n in names]
    fig, axes = plt.subplots(len(rows), n_show + 1, figsize=(1.3 * (n_show + 2), 1.3 * len(rows)),
                             gridspec_kw={"width_ratios": [2.5] + [1] * n_show})
    for i, (name, X) in enumerate(rows):
        ax0 = axes[i, 0]
        if name in result["schedules"]:
            result["schedules"][name].plot(ax=ax0)
            ax0.set_xlabel("")
            ax0.set_ylabel("")
            ax0.tick_params(labelsize=6)
        else:
            ax0.axis("off")
        ax0.set_title(name, fontsize=8)
        for j in range(n_show):
            ax = axes[i, j + 1]
            ax.axis("off")
            if j < len(X) and len(shape) == 2:
                ax.imshow(X[j].reshape(shape), cmap="gray")
            elif j < len(X):
                ax.plot(X[j])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _parse_kv(items) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} must be KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            out[k.replace("-", "_")] = json.loads(v)
        except json.JSONDecodeError:
            out[k.replace("-", "_")] = v
    return out


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
@click.option("--preset", "presets", multiple=True, type=click.Choice(PRESETS),
              help="Preset schedules to run (default: all four).")
@click.option("--schedule", "schedule_files", multiple=True, metavar="NAME=PATH",
              help="Extra schedule from a JSON file (markovphase.schedule schema).")
@click.option("--derive/--no-derive", default=True, show_default=True,
              help="Add the schedule derived from a PhaseScan of the training rows.")
@click.option("--scan", "scan_params", multiple=True, metavar="KEY=VALUE",
              help="PhaseScan parameter for the derived schedule, e.g. --scan cmi=knn.")
@click.option("--tolerance", default=0.01, show_default=True, type=float,
              help="Tolerance of the derived schedule (units of the scan's values).")
@click.option("--denoiser", default="network", show_default=True,
              type=click.Choice(["network", "linear"]))
@click.option("--denoiser-param", "denoiser_params", multiple=True, metavar="KEY=VALUE",
              help="Denoiser parameter, e.g. --denoiser-param epochs=5.")
@click.option("--global-param", "global_params", multiple=True, metavar="KEY=VALUE",
              help="Override for the global denoiser only, e.g. --global-param width=32.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Cache of trained networks: reused when data and parameters match.")
@click.option("--gap-radii", default="", show_default=False, metavar="R1,R2,...",
              help="Also derive the schedule 'derived-gap' from the fitted networks: at each "
                   "time the smallest of these radii within --gap-tolerance of the global one.")
@click.option("--gap-tolerance", default=0.05, show_default=True, type=click.FloatRange(min=0),
              help="Relative excess held-out x0-MSE allowed by 'derived-gap'.")
@click.option("--gap-measure", default="rel_gap", show_default=True,
              type=click.Choice(GAP_MEASURES),
              help="What --gap-tolerance bounds: excess MSE over the global MSE, or over what "
                   "the global denoiser explains beyond the mean.")
@click.option("--time-spacing", default="uniform", show_default=True,
              callback=lambda ctx, param, value: parse_time_spacing(value, "--time-spacing"),
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
@click.option("--method", default="heun", show_default=True,
              type=click.Choice(["heun", "euler", "ddim"]))
@click.option("--random-state", default=0, show_default=True, type=int,
              help="Seeds the train/held-out split, the networks and the classifier.")
@click.option("--sample-seed", default=None, type=int,
              help="Seeds the samplers' starting noise (default: --random-state); a new value "
                   "draws fresh sample sets from the same networks.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (tables, schedules, samples, figure).")
@click.option("-v", "--verbose", count=True)
def sample_command(dataset, data_params, n_train, n_samples, radius, window, presets,
                   schedule_files, derive, scan_params, tolerance, denoiser, denoiser_params,
                   global_params, model_dir, gap_radii, gap_tolerance, gap_measure, time_spacing,
                   center, global_repeats, repeat_schedules, steps, method, random_state,
                   sample_seed, out_dir, verbose):
    """Sample with locality schedules; report quality, FLOPs and wall time per schedule.

    \b
    markovphase sample --dataset mnist --data path=.../t10k-images-idx3-ubyte.gz \\
        --data crop=27 --denoiser-param epochs=5 --out sample-report/
    """
    try:
        lo, hi = (float(x) for x in window.split(","))
    except ValueError:
        raise click.BadParameter(f"--window {window!r} must be two numbers lo,hi") from None
    try:
        radii = tuple(int(r) for r in gap_radii.split(",") if r.strip())
    except ValueError:
        raise click.BadParameter(f"--gap-radii {gap_radii!r} must be integers like 1,3") from None
    files = _parse_kv(schedule_files)
    try:
        res = run_experiment(
            dataset=dataset, dataset_params=_parse_kv(data_params), n_train=n_train,
            n_samples=n_samples, radius=radius, window=(lo, hi), presets=presets or PRESETS,
            schedules={k: os.fspath(v) for k, v in files.items()}, derive=derive,
            scan_params=_parse_kv(scan_params), tolerance=tolerance, denoiser=denoiser,
            denoiser_params=_parse_kv(denoiser_params),
            global_denoiser_params=_parse_kv(global_params), model_dir=model_dir,
            gap_radii=radii, gap_tolerance=gap_tolerance, gap_measure=gap_measure,
            time_spacing=time_spacing, steps=steps, method=method, center=center,
            n_global_repeats=global_repeats, repeat_schedules=repeat_schedules,
            random_state=random_state, sample_random_state=sample_seed, verbose=verbose,
            out_dir=out_dir)
    except (plugins.UnknownComponentError, ValueError, OSError) as exc:
        # bad input (a dataset, schedule file, parameter); the message names it
        raise click.ClickException(str(exc)) from exc
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        click.echo(res["summary"].drop(columns=["schedule_text"]).to_string(index=False))
        click.echo("")
        click.echo(res["metrics"].pivot_table(index="metric", columns="schedule",
                                              values="generated").to_string())
    click.echo(f"\nwritten to {out_dir}")
