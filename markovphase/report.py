"""The phase-diagram report of a fitted :class:`~markovphase.PhaseScan`.

Files written to ``out_dir``:

- ``results.csv`` — the tidy (t, r) table: t, snr, log_snr, r, value, stderr, ...
- ``markov_length.csv`` — xi(t) with its 95 % interval and how it was obtained
- ``results.json`` — everything above plus every parameter, the dataset's
  provenance, the estimator, the command, the git commit and the package
  versions (:func:`markovphase.provenance.record`)
- ``cmi_heatmap.png`` — CMI(t, r) as a heat map (nats)
- ``markov_length.png`` — xi(t) with error bars and CMI(t) per radius, window shaded
- ``probe_curve.png`` — instead of the two above, for probes without a radius
- ``summary.txt`` — a short human-readable summary
- ``schedule.json`` — the locality schedule the scan implies (scans with radii):
  at each time the smallest radius within ``schedule_tolerance``, global where
  none is and inside the transition window
  (:meth:`~markovphase.schedule.LocalitySchedule.from_scan` with ``window_global``)

Every file is written atomically (:func:`markovphase.outdir.atomic_path`): a
full disk or a kill leaves the previous version of a file, never a truncated
one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import provenance
from .cache import canonical
from .outdir import atomic_path, write_text_atomic


def _radius_free(scan) -> bool:
    return bool(scan.results_["r"].isna().all())


def summary_text(scan, dataset=None) -> str:
    """A few lines: what was measured, by which estimator, and what it found."""
    ml = scan.markov_length_
    n = getattr(scan, "n_samples_fit_", None)
    shape = f"{n} samples x " if n is not None else ""
    name = (dataset.name or "unnamed") if dataset is not None else "not named (pass dataset=)"
    head = [
        "markovphase phase scan",
        f"dataset: {name} ({shape}{scan.n_features_in_} features, lattice {scan.lattice_shape})",
        f"probe: {scan.probe_name_}   estimator: {scan.cmi_label_ or '-'}   "
        f"path: {scan.path_.name}",
        f"cells: {scan.n_cells_computed_} computed, {scan.n_cells_cached_} from cache",
        "",
    ]
    if _radius_free(scan):
        res = scan.results_
        lines = head + [f"{'t':>6} {'snr':>10} {'value':>12} {'stderr':>9}"]
        lines += [f"{r.t:6.3f} {r.snr:10.4g} {r.value:12.5f} {r.stderr:9.5f}"
                  for r in res.itertuples()]
        return "\n".join(lines) + "\n"
    table = scan.cmi_table()
    r0 = table.columns[0]
    lines = head + [
        f"{'t':>6} {'snr':>10} {f'value(r={r0})':>14} {'stderr':>9} {'xi':>8}  xi status",
    ]
    se = scan.cmi_table("stderr")
    for (t, row), (_, serow), (_, m) in zip(table.iterrows(), se.iterrows(), ml.iterrows(),
                                            strict=True):
        lines.append(f"{t:6.3f} {m['snr']:10.4g} {row[r0]:14.5f} {serow[r0]:9.5f} "
                     f"{m['xi']:8.3f}  {m['status']}")
    lines.append("")
    if "note" in scan.results_:
        for t, note in scan.results_.groupby("t")["note"].first().items():
            if isinstance(note, str) and note:
                lines.append(f"note (t={t:g}): {note}")
    w = scan.window_details_
    if scan.transition_window_ is None:
        lines.append(f"transition window: none found (peak of r={r0} at t={w['peak_time']}, "
                     f"value {w['peak']:.4g} vs end-point baseline {w['baseline']:.4g}): "
                     f"no peak of I(A;C|B(r={r0})) inside the path stands out from its two ends")
    else:
        lo, hi = scan.transition_window_
        lines.append(f"transition window: found, t in [{lo:g}, {hi:g}] (peak at "
                     f"t={w['peak_time']:g}; by CMI: {w['by_cmi']}, by Markov length: "
                     f"{w['by_xi']}): I(A;C|B(r={r0})) rises there above both ends of the "
                     "path; local denoisers fail inside it")
    return "\n".join(lines) + "\n"


def _save(fig, path) -> None:
    """Save and close a figure, atomically (the format follows the suffix)."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)


def plot_probe_curve(scan, path) -> None:
    """Value against t (with stderr) for radius-free probes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    res = scan.results_
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(res["t"], res["value"], yerr=res["stderr"], fmt="o-", capsize=3)
    ax.set_xlabel("diffusion time t")
    ax.set_ylabel(f"{scan.probe_name_} probe value")
    ax.set_title(f"probe {scan.probe_name_!r} along the path")
    fig.tight_layout()
    _save(fig, path)


def plot_heatmap(scan, path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    table = scan.cmi_table()
    vals = table.to_numpy(float).T  # rows r, columns t
    pos = vals[np.isfinite(vals) & (vals > 0)]
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * vals.shape[1], 1.5 + 0.35 * vals.shape[0]))
    norm = LogNorm(vmin=max(pos.min(), pos.max() * 1e-4), vmax=pos.max()) if pos.size else None
    im = ax.imshow(np.where(vals > 0, vals, np.nan), origin="lower", aspect="auto",
                   cmap="viridis", norm=norm)
    ax.set_xticks(range(len(table.index)), [f"{t:g}" for t in table.index], rotation=45)
    ax.set_yticks(range(len(table.columns)), [str(int(r)) for r in table.columns])
    ax.set_xlabel("diffusion time t")
    ax.set_ylabel("radius r")
    ax.set_title(f"I(A;C|B(r)) [nats], {scan.cmi_label_}" if scan.cmi_label_
                 else f"{scan.probe_name_} probe value")
    fig.colorbar(im, ax=ax, label="nats (log scale; ≤ 0 blank)")
    fig.tight_layout()
    _save(fig, path)


def plot_markov_length(scan, path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ml = scan.markov_length_
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xi = ml["xi"].to_numpy(float)
    cap = np.nanmax(np.where(np.isfinite(xi), xi, np.nan)) if np.isfinite(xi).any() else 1.0
    cap = 2 * cap if cap > 0 else 1.0
    shown = np.where(np.isinf(xi), cap, xi)
    lo = np.clip(shown - np.nan_to_num(ml["xi_low"].to_numpy(float), nan=0), 0, None)
    hi = np.clip(np.where(np.isinf(ml["xi_high"]), cap, ml["xi_high"]) - shown, 0, None)
    ax1.errorbar(ml["t"], shown, yerr=[lo, np.nan_to_num(hi)], fmt="-", color="tab:blue",
                 capsize=3, lw=1)
    styles = {"fit": ("o", "fit (95 % interval)"), "upper-bound": ("v", "upper bound"),
              "below-noise-floor": ("x", "below noise floor"),
              "not-decaying": ("^", "not decaying"), "not-estimable": ("s", "not estimable")}
    for status, (marker, label) in styles.items():
        sel = (ml["status"] == status).to_numpy()
        if sel.any():
            ax1.plot(ml["t"][sel], shown[sel], marker, color="tab:blue", ls="none", label=label,
                     mfc="none" if status != "fit" else "tab:blue")
    ax1.legend(fontsize=7)
    ax1.set_xlabel("diffusion time t")
    ax1.set_ylabel("Markov length ξ (sites)")
    ax1.set_title("ξ(t) from I(A;C|B(r)) ≈ γ exp(−r/ξ)")
    groups = list(scan.results_.groupby("r"))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(groups)))
    for (r, g), color in zip(groups, colors, strict=True):
        ax2.errorbar(g["t"], g["value"], yerr=g["stderr"], fmt="o-", capsize=2, ms=3,
                     color=color, label=f"r={int(r)}")
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xlabel("diffusion time t")
    ax2.set_ylabel("I(A;C|B(r)) [nats]")
    ax2.legend(fontsize=7, ncol=2)
    for ax in (ax1, ax2):
        if scan.transition_window_ is not None:
            ax.axvspan(*scan.transition_window_, color="tab:red", alpha=0.15,
                       label="transition window")
        if scan.peak_time_ is not None:
            ax.axvline(scan.peak_time_, color="tab:red", lw=0.8, ls="--")
    fig.tight_layout()
    _save(fig, path)


def write_report(scan, out_dir, dataset=None, command: str | None = None,
                 schedule_tolerance: float | None = 0.01, schedule_criterion: str = "cmi",
                 schedule_grid=None) -> dict[str, Path]:
    """Write the report files of a fitted scan; returns their paths by name.

    ``schedule_tolerance`` (None: no schedule) is the tolerance of
    ``schedule.json``, written for scans with radii, on ``schedule_criterion``
    (``"cmi"``: nats of CMI; ``"weighted"``: the excess a step of the sampler's
    time grid ``schedule_grid`` hands on, see
    :meth:`~markovphase.schedule.LocalitySchedule.from_scan`).
    """
    from .schedule_scan import check_criterion

    check_criterion(schedule_criterion)  # before any file is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = (("probe_curve.png",) if _radius_free(scan)
               else ("cmi_heatmap.png", "markov_length.png"))
    paths = {name: out / name for name in ("results.csv", "markov_length.csv", "results.json",
                                           *figures, "summary.txt")}
    for name, table in (("results.csv", scan.results_), ("markov_length.csv", scan.markov_length_)):
        with atomic_path(paths[name]) as tmp:
            table.to_csv(tmp, index=False)
    doc = {
        **provenance.record(command=command),
        "estimator": scan.cmi_label_,
        "probe": scan.probe_name_,
        "params": canonical(scan.get_params(deep=False)),
        "dataset": None if dataset is None else {
            "name": dataset.name, "n_samples": dataset.n_samples,
            "lattice_shape": list(dataset.lattice_shape), "n_channels": dataset.n_channels,
            "periodic": dataset.periodic, "metadata": canonical(dataset.metadata)},
        "n_samples": getattr(scan, "n_samples_fit_", None),
        "content_key": getattr(scan, "content_key_", None),
        "transition_window": scan.transition_window_,
        "peak_time": scan.peak_time_,
        "window_details": canonical(scan.window_details_),
        "cache": scan.cache_path_,
        "results": canonical(scan.results_.to_dict(orient="records")),
        "markov_length": canonical(scan.markov_length_.to_dict(orient="records")),
    }
    write_text_atomic(paths["results.json"], json.dumps(doc, indent=2, default=repr))
    if _radius_free(scan):
        plot_probe_curve(scan, paths["probe_curve.png"])
    else:
        plot_heatmap(scan, paths["cmi_heatmap.png"])
        plot_markov_length(scan, paths["markov_length.png"])
    write_text_atomic(paths["summary.txt"], summary_text(scan, dataset))
    if schedule_tolerance is not None and not _radius_free(scan):
        from .schedule import LocalitySchedule

        schedule = LocalitySchedule.from_scan(scan, schedule_tolerance, window_global=True,
                                              criterion=schedule_criterion, grid=schedule_grid)
        paths["schedule.json"] = out / "schedule.json"
        write_text_atomic(paths["schedule.json"], schedule.to_json())
    return paths
