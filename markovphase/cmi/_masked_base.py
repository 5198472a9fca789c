"""Shared plumbing of the masked-context estimators ``neural`` and ``mine``; private.

:class:`MaskedCMIBase` turns region triples into visibility masks, trains one
:class:`~markovphase.cmi._masked.MaskedEngine` per distinct A (checkpointed
under ``checkpoint_dir``), and evaluates it one time at a time
(``iter_path``); the subclasses say which masks they need and how the
per-mask terms make a CMI.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.utils import check_random_state

from ..lattice import Lattice, Regions
from .base import CMIEstimator, CMIResult, as_2d

NAN_RESULT = CMIResult(float("nan"), float("nan"), None, 0)


def _geometry(shape, n_channels: int = 1):
    from ._engine_parts import Geometry  # torch is imported only when an estimate runs

    return Geometry(shape, n_channels)


def _check_params(est, mode: str):
    def pos_int(name):
        v = getattr(est, name)
        if not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}={v!r} must be a positive integer")

    for name in ("max_steps", "batch_size", "channels"):
        pos_int(name)
    if mode == "density":
        pos_int("n_components")
    hidden = tuple(est.hidden)
    if not hidden or any(not isinstance(h, numbers.Integral) or h < 1 for h in hidden):
        raise ValueError(f"hidden={est.hidden!r} must be a non-empty sequence of positive ints")
    for name in ("test_fraction", "validation_fraction"):
        v = getattr(est, name)
        if not isinstance(v, numbers.Real) or not 0 < v < 1:
            raise ValueError(f"{name}={v!r} must be a number in (0, 1)")
    if not isinstance(est.learning_rate, numbers.Real) or est.learning_rate <= 0:
        raise ValueError(f"learning_rate={est.learning_rate!r} must be a positive number")
    if est.architecture not in ("auto", "cnn", "mlp"):
        raise ValueError(f"architecture={est.architecture!r}; expected 'auto', 'cnn' or 'mlp'")


class MaskedCMIBase(CMIEstimator):
    """Shared plumbing of :class:`NeuralCMI` and :class:`MINECMI`."""

    _mode = "density"
    has_pointwise = True
    min_samples = 20

    # -- subclass hooks ------------------------------------------------------
    def _triple_results(self, terms, mask_of, triples, n_test, masks):
        raise NotImplementedError

    def _masks_needed(self, B, BC):
        raise NotImplementedError

    # -- engine --------------------------------------------------------------
    def _local_radius(self) -> int:
        """Radius of the near context that bypasses the CNN's strides (-1: none)."""
        return -1

    def _gaussian_baseline(self) -> bool:
        """Whether the density starts from the Gaussian conditional (see ``_baseline``)."""
        return False

    def _config(self, lattice_given: bool):
        from ..device import resolve_device
        from ._engine_parts import EngineConfig

        _check_params(self, self._mode)
        arch = self.architecture
        if arch == "auto":
            arch = "cnn" if lattice_given else "mlp"
        every = self.eval_every or max(25, self.max_steps // 20)
        return EngineConfig(
            mode=self._mode, architecture=arch, hidden=tuple(int(h) for h in self.hidden),
            channels=int(self.channels), n_components=int(getattr(self, "n_components", 1)),
            max_steps=int(self.max_steps), batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate), weight_decay=float(self.weight_decay),
            eval_every=int(every), n_shuffles=int(getattr(self, "n_shuffles", 1)),
            device=resolve_device(self.device), verbose=int(self.verbose),
            local_radius=self._local_radius(), gaussian_baseline=self._gaussian_baseline())

    def _grids(self, X0, a_idx):
        from ._engine_parts import detect_grid

        vg = self.value_grid
        if vg is None:
            return [None] * len(a_idx)
        if vg == "auto":
            return [detect_grid(X0[:, a]) for a in a_idx]
        try:
            lo, hi, step = (float(v) for v in vg)
        except (TypeError, ValueError):
            raise ValueError(
                f"value_grid={vg!r}; expected 'auto', None or (lo, hi, step)") from None
        if not step > 0 or hi < lo:
            raise ValueError(f"value_grid={vg!r} needs step > 0 and hi >= lo")
        return [(lo, hi, step)] * len(a_idx)

    def _checkpoint(self, X0, noise, a_idx, masks, rows, seed, cfg, path, times, grids):
        """The training checkpoint of this run under ``checkpoint_dir`` (or None), its
        usable state and the times to train on.

        The file is keyed by everything the training depends on except the
        times, which it records: a finished network trained on a superset of
        ``times`` is reused (a resumed scan asks only for its missing times and
        gets the numbers of the uninterrupted run); an unfinished one resumes
        when its times are ``times``; anything else is trained afresh.
        """
        from ..cache import cache_key
        from ._checkpoint import TrainingCheckpoint

        if self.checkpoint_dir is None:
            return None, None, times
        run = {k: v for k, v in vars(cfg).items() if k not in ("device", "verbose")}
        key = cache_key(X0, {
            "estimator": type(self).__qualname__, "config": run, "seed": seed,
            "a_idx": a_idx, "masks": [np.flatnonzero(m) for m in masks], "grids": grids,
            "rows": [cache_key(r, {}) for r in rows],
            "noise": None if noise is None else cache_key(noise, {}),
            "path": None if path is None else [type(path).__qualname__, repr(vars(path))]})
        ckpt = TrainingCheckpoint(os.path.join(os.fspath(self.checkpoint_dir),
                                               f"{self._mode}-{key}.pt"))
        state = ckpt.load()
        if state is None:
            return ckpt, None, times
        saved = [None if v is None else float(v) for v in state["times"]]
        if state["finished"] and set(times) <= set(saved):
            return ckpt, state, saved
        if not state["finished"] and saved == list(times):
            return ckpt, state, times
        return ckpt, None, times

    def _train(self, X0, a_idx, triples, times, path, noise, geometry):
        """Train one network for ``triples`` (lists of (B, C) feature indices) and ``times``
        (or resume / reload it from ``checkpoint_dir``).

        Returns ``results_at``: ``results_at(t)`` evaluates the held-out rows at one
        of ``times`` and returns a CMIResult per triple.
        """
        from ._engine_parts import deterministic_torch, split_rows
        from ._masked import MaskedEngine

        n, D = X0.shape
        a_idx = np.asarray(a_idx, dtype=np.intp)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        rows = split_rows(n, self.test_fraction, self.validation_fraction, rng)
        masks, index = [], {}

        def mask_id(feats):
            m = np.zeros(D, dtype=bool)
            m[np.asarray(feats, dtype=np.intp)] = True
            m[a_idx] = False
            key = m.tobytes()
            if key not in index:
                index[key] = len(masks)
                masks.append(m)
            return index[key]

        mask_of = []
        for B, C in triples:
            BC = np.concatenate([np.asarray(B, dtype=np.intp), np.asarray(C, dtype=np.intp)])
            mask_of.append(self._masks_needed(mask_id, (B, BC)))
        grids = self._grids(X0, a_idx)
        self.reasons_ = {}
        clean_t = [t for t in times if path is None or float(path.sigma(t)) == 0.0]
        if any(g == "atoms" for g in grids) and clean_t and self._mode == "density":
            reason = ("target values have ties (atoms) that are not on an even grid: "
                      "their density is not defined; pass value_grid=(lo, hi, step) or add noise")
            for t in clean_t:
                self.reasons_[t] = reason
            warnings.warn(f"NeuralCMI: {reason} (t = {clean_t})", RuntimeWarning, stacklevel=4)
        cfg = self._config(geometry.shape is not None)
        if cfg.architecture == "cnn" and geometry.shape is None:
            raise ValueError("architecture='cnn' needs a lattice; pass lattice=... or use 'mlp'")
        if not masks:
            masks.append(np.zeros(D, dtype=bool))
        ckpt, state, train_times = self._checkpoint(X0, noise, a_idx, masks, rows, seed, cfg,
                                                    path, list(times), grids)
        with deterministic_torch(seed):
            eng = MaskedEngine(X0.astype(np.float32), a_idx, np.array(masks), train_times, path,
                               noise, geometry, grids, cfg, rows, seed)
            eng.fit(ckpt, state)
        self.network_state_ = {k: v.detach().cpu().clone() for k, v in eng.net.state_dict().items()}
        self.history_ = eng.history
        self.n_test_ = n_test = len(rows[2])
        self.masks_ = np.array(masks)
        self.mask_terms_ = np.full((len(times), len(masks)), np.nan)
        if self._mode == "mine":  # the authors' estimate: training-batch DV bounds
            batch = eng.batch_terms[[train_times.index(t) for t in times]]
            self.batch_mask_terms_ = batch
            self.batch_cmi_ = np.array([[row[mbc] - (0.0 if mb is None else row[mb])
                                         for mb, mbc in mask_of] for row in batch])
        reasons = self.reasons_

        def results_at(t):
            ti = train_times.index(t)
            terms = eng.evaluate(time_ids=[ti])[ti]
            self.mask_terms_[list(times).index(t)] = terms.mean(axis=-1)
            if t in reasons:
                return [NAN_RESULT] * len(triples)
            return self._triple_results(terms, mask_of, triples, n_test, masks)

        return results_at

    # -- public API ----------------------------------------------------------
    def _evaluate(self, A, C, B):
        X = np.hstack([A, B, C])
        dA, dB = A.shape[1], B.shape[1]
        a_idx = np.arange(dA)
        Bi = np.arange(dA, dA + dB)
        Ci = np.arange(dA + dB, X.shape[1])
        return self._train(X, a_idx, [(Bi, Ci)], [None], None, None, _geometry(None))(None)[0]

    @staticmethod
    def _groups(regions):
        groups: dict[bytes, list[int]] = {}
        for i, r in enumerate(regions):
            a = np.asarray(r.A, dtype=np.intp)
            if a.size == 0 or np.asarray(r.C).size == 0:
                raise ValueError(f"regions[{i}] has an empty A or C; I(A;C|B) needs both")
            groups.setdefault(np.sort(a).tobytes(), []).append(i)
        return groups

    def _iter_regions(self, X0, regions, lattice, times, path, noise):
        """Check the inputs (now), then train one network per distinct A and yield
        ``(t, [CMIResult per region])`` one time after the other (when iterated)."""
        X0 = as_2d(X0, "X")
        if lattice is not None:
            lattice.check_X(X0)
            geometry = _geometry(lattice.shape, lattice.n_channels)
        else:
            geometry = _geometry(None)
        if noise is not None:
            noise = as_2d(noise, "noise")
            if noise.shape != X0.shape:
                raise ValueError(f"noise has shape {noise.shape}; expected X0's shape {X0.shape}")
        if X0.shape[0] < self.min_samples:
            raise ValueError(f"got {X0.shape[0]} samples; {type(self).__name__} needs at least "
                             f"{self.min_samples}")
        regions = [r if isinstance(r, Regions) else Regions(*r) for r in regions]
        return self._train_and_yield(X0, regions, self._groups(regions), times, path, noise,
                                     geometry)

    def _train_and_yield(self, X0, regions, groups, times, path, noise, geometry):
        runs = []
        for idx in groups.values():
            a_idx = np.asarray(regions[idx[0]].A, dtype=np.intp)
            triples = [(regions[i].B, regions[i].C) for i in idx]
            runs.append((idx, self._train(X0, a_idx, triples, times, path, noise, geometry)))
        for t in times:
            out = [None] * len(regions)
            for idx, results_at in runs:
                for i, res in zip(idx, results_at(t), strict=True):
                    out[i] = res
            yield t, out

    def evaluate_regions(self, X: np.ndarray, regions: Sequence[Regions],
                         lattice: Lattice | None = None) -> list[CMIResult]:
        """I(A;C|B) for many triples of the same samples with one network per distinct A.

        With a ``lattice`` the network is a CNN over masked images
        (``architecture="auto"``); without, an MLP over masked vectors.
        """
        return dict(self._iter_regions(X, regions, lattice, [None], None, None))[None]

    def evaluate_path(self, X0, noise, path, times, regions: Sequence[Regions],
                      lattice: Lattice | None = None) -> dict[float, list[CMIResult]]:
        """I(A;C|B) at every ``t`` in ``times`` for ``x_t = path.noise(X0, t, noise)``.

        ONE time-conditioned network is trained (fresh noise every step,
        times drawn from ``times``) and evaluated on held-out rows with the
        caller's fixed ``noise``. Returns ``{t: [CMIResult per region]}``.
        """
        return dict(self.iter_path(X0, noise, path, times, regions, lattice))

    def iter_path(self, X0, noise, path, times, regions: Sequence[Regions],
                  lattice: Lattice | None = None) -> Iterator[tuple[float, list[CMIResult]]]:
        """:meth:`evaluate_path` one time at a time: train (checkpointed under
        ``checkpoint_dir``), then yield ``(t, [CMIResult per region])`` as each time's
        held-out rows are evaluated."""
        from ..diffusion import check_time, get_path

        path = get_path(path)
        times = [float(check_time(t, "times")) for t in np.atleast_1d(times)]
        if not times:
            raise ValueError("times is empty; expected at least one diffusion time")
        if noise is None:
            raise ValueError("noise must be an (n_samples, n_features) standard normal array")
        return self._iter_regions(X0, regions, lattice, times, path, noise)
