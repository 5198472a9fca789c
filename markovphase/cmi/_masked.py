"""Shared engine of the masked-context estimators (``neural`` and ``mine``); private.

One network is trained on samples ``x_t = alpha(t) x_0 + sigma(t) z`` (or on the
given data when there is no path) with random visibility masks drawn from a
fixed list (the contexts ``B`` and ``B u C`` of every requested triple) and
random times from a fixed list, then evaluated on held-out rows for every
(time, mask) pair.

* ``mode="density"``: the network outputs a Gaussian mixture for one target
  feature ``a_j`` given the masked context and ``a_<j`` (autoregressive over
  A's features); the per-row result is ``-log q(x_A | context)`` in nats, in
  the data's original units.
* ``mode="mine"``: the network is a critic ``T(x_A, context)`` trained with
  the Donsker-Varadhan bound ``E_P[T] - log E_{P_A x P_ctx}[e^T]``; the
  per-row result is the influence term of that bound (its mean is the bound).

Training draws fresh noise ``z`` every step (the model learns p_t of the
training images, not one noise draw); validation and evaluation rows use the
caller's fixed noise, as in the paper.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from ._baseline import gaussian_baseline
from ._checkpoint import TrainingCheckpoint
from ._engine_parts import EngineConfig, Geometry
from ._nets import CNNBody, HeadNet, MLPBody, mixture_nll

N_TEMB = 3  # (t, alpha, sigma)


def dv_bound(tj: torch.Tensor, tm: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan bound ``mean T(joint) - log mean exp T(marginal)`` (nats)."""
    return tj.mean() - (torch.logsumexp(tm, 0) - math.log(len(tm)))


class MaskedEngine:
    """Train one masked-context network and evaluate it on held-out rows.

    Parameters
    ----------
    X0 : (n, D) array — clean samples (or the samples themselves without a path).
    a_idx : (d_A,) int array — target features.
    masks : (M, D) bool array — visible context per mask (A excluded).
    times : list of float or [None] — diffusion times (None: use X0 as is).
    path : DiffusionPath or None.
    noise : (n, D) array or None — fixed noise of the evaluation rows.
    grids : list (one per A feature) of None or (lo, hi, step) for clean data.
    """

    def __init__(self, X0, a_idx, masks, times, path, noise, geometry: Geometry,
                 grids, cfg: EngineConfig, rows, seed: int):
        self.cfg = cfg
        self.dev = cfg.device
        self.geom = geometry
        self.train_rows, self.val_rows, self.test_rows = rows
        self.seed = seed
        self.a_idx = torch.as_tensor(np.asarray(a_idx), dtype=torch.long)
        self.masks = torch.as_tensor(np.asarray(masks, dtype=np.float32))
        self.times = list(times)
        D = X0.shape[1]
        T = len(self.times)
        if path is None:
            alpha, sigma = np.ones(T), np.zeros(T)
            tvals = np.zeros(T)
        else:
            alpha = np.array([float(path.alpha(t)) for t in self.times])
            sigma = np.array([float(path.sigma(t)) for t in self.times])
            tvals = np.array(self.times, dtype=float)
        self.alpha = torch.as_tensor(alpha, dtype=torch.float32)
        self.sigma = torch.as_tensor(sigma, dtype=torch.float32)
        self.temb = torch.as_tensor(np.stack([tvals, alpha, sigma], 1), dtype=torch.float32)
        tr = X0[self.train_rows]
        m0, v0 = tr.mean(0), tr.var(0)
        mean = alpha[:, None] * m0[None]
        std = np.sqrt(alpha[:, None] ** 2 * v0[None] + sigma[:, None] ** 2)
        std = np.where(std > 1e-6 * max(1.0, float(std.max())), std, 1.0)
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)
        self.X0 = torch.as_tensor(X0, dtype=torch.float32)
        self.noise = None if noise is None else torch.as_tensor(noise, dtype=torch.float32)
        dA = len(a_idx)
        g = [gr if isinstance(gr, tuple) else None for gr in grids]
        self.has_grid = torch.tensor([gr is not None for gr in g])
        self.grid = torch.tensor([gr if gr is not None else (0.0, 0.0, 1.0) for gr in g],
                                 dtype=torch.float32).view(dA, 3)
        self.onehot = torch.zeros(dA, D)
        self.onehot[torch.arange(dA), self.a_idx] = 1.0
        # mask of A features preceding j (autoregressive context) / all of A (mine)
        self.prev = torch.zeros(dA, D)
        for j in range(1, dA):
            self.prev[j, self.a_idx[:j]] = 1.0
        self.a_all = self.onehot.sum(0)
        # planes: masked values, mask, and (density mode, d_A > 1) the target marker
        self.n_target_planes = int(cfg.mode == "density" and dA > 1)
        k = 2 + self.n_target_planes
        n_out = 3 * cfg.n_components if cfg.mode == "density" else 1
        self.baseline = cfg.mode == "density" and cfg.gaussian_baseline
        if self.baseline:  # the Gaussian conditional per (time, mask, target): see _baseline
            near = None
            if geometry.shape is not None and cfg.local_radius >= 0:
                near = np.zeros(D, bool)  # the features of the sites near A
                sites = geometry.sites_near(a_idx, cfg.local_radius)
                near[(sites[:, None] * geometry.n_channels
                      + np.arange(geometry.n_channels)).ravel()] = True
            W, logs = gaussian_baseline(tr, alpha, sigma, std, masks, self.prev.numpy(), a_idx,
                                        near=near)
            self.base_w, self.base_logs = torch.as_tensor(W), torch.as_tensor(logs)
        n_temb = N_TEMB + 2 * self.baseline  # (+ the baseline's mean and log-scale)
        if geometry.shape is not None and cfg.architecture == "cnn":
            body = CNNBody(k * geometry.n_channels, geometry.shape, n_temb, cfg.channels,
                           cfg.hidden, geometry.sites_near(a_idx, cfg.local_radius))
        else:
            body = MLPBody(k * D, n_temb, cfg.hidden)
        self.net = HeadNet(body, n_out).to(self.dev)
        if self.baseline:  # start at (close to) the Gaussian conditional; small, not zero,
            with torch.no_grad():  # so that the mixture components can still part
                self.net.head.weight.mul_(0.01)
                self.net.head.bias.mul_(0.01)

    # -- batches --------------------------------------------------------------
    def _x(self, rows, ti, z):
        x0 = self.X0[rows]
        a, s = self.alpha[ti][:, None], self.sigma[ti][:, None]
        x = a * x0 if z is None else a * x0 + s * z
        return (x - self.mean[ti]) / self.std[ti]

    def _density_batch(self, rows, ti, mi, j, z):
        xn = self._x(rows, ti, z)
        m = self.masks[mi] + self.prev[j]
        parts = [self.geom.planes(xn * m), self.geom.planes(m)]
        if self.n_target_planes:  # which feature of A is predicted (only when d_A > 1)
            parts.append(self.geom.planes(self.onehot[j]))
        planes = torch.cat(parts, dim=1)
        aj = self.a_idx[j]
        y = xn.gather(1, aj[:, None])[:, 0]
        std_a = self.std[ti, aj]
        mean_a = self.mean[ti, aj]
        gr = self.grid[j]
        scale = self.alpha[ti] / std_a
        lo = (self.alpha[ti] * gr[:, 0] - mean_a) / std_a
        hi = (self.alpha[ti] * gr[:, 1] - mean_a) / std_a
        step = gr[:, 2] * scale
        discrete = self.has_grid[j] & (self.sigma[ti] == 0)
        extra = dict(y=y, lo=lo, hi=hi, step=step, discrete=discrete,
                     log_jac=torch.where(discrete, 0.0, torch.log(std_a)))
        temb = self.temb[ti]
        if self.baseline:
            mu0 = (xn * self.base_w[ti, mi, j]).sum(1)
            logs0 = self.base_logs[ti, mi, j]
            extra.update(mu0=mu0, logs0=logs0)
            temb = torch.cat([temb, mu0[:, None], logs0[:, None]], dim=1)
        return planes, temb, extra

    def _mine_planes(self, xn, mi, a_src):
        """Context of ``xn`` under mask ``mi`` with A's values taken from ``a_src``."""
        m = self.masks[mi]
        if m.dim() == 1:
            m = m.expand_as(xn)
        ctx = xn * m
        ctx = ctx + a_src * self.a_all
        mm = m + self.a_all
        return torch.cat([self.geom.planes(ctx), self.geom.planes(mm)], dim=1)

    def _to(self, *ts):
        return [t.to(self.dev) for t in ts]

    # -- losses ---------------------------------------------------------------
    def _density_loss(self, rows, ti, mi, j, z):
        planes, temb, ex = self._density_batch(rows, ti, mi, j, z)
        planes, temb = self._to(planes, temb)
        out = self.net(planes, temb)
        ex = {k: v.to(self.dev) for k, v in ex.items()}
        if self.baseline:  # the network learns the departure from the Gaussian conditional
            K = self.cfg.n_components
            out = torch.cat([out[:, :K], out[:, K:2 * K] + ex["mu0"][:, None],
                             out[:, 2 * K:] + ex["logs0"][:, None]], dim=1)
        nll = mixture_nll(out, ex["y"], ex["discrete"], ex["lo"], ex["hi"], ex["step"])
        return nll + ex["log_jac"]

    def _mine_terms(self, rows, ti, mi, z, perm):
        xn = self._x(rows, ti, z)
        joint = self._mine_planes(xn, mi, xn)
        marg = self._mine_planes(xn, mi, xn[perm])
        temb = self.temb[ti]
        joint, marg, temb = self._to(joint, marg, temb)
        tj = self.net(joint, temb)[:, 0]
        tm = self.net(marg, temb)[:, 0]
        return tj, tm

    # -- training -------------------------------------------------------------
    def _draw(self, gen, n, rows):
        r = rows[torch.randint(len(rows), (n,), generator=gen)]
        ti = torch.randint(len(self.times), (n,), generator=gen)
        mi = torch.randint(len(self.masks), (n,), generator=gen)
        j = torch.randint(len(self.a_idx), (n,), generator=gen)
        return r, ti, mi, j

    def _val_loss(self, val):
        r, ti, mi, j = val
        z = None if self.noise is None else self.noise[r]
        with torch.no_grad():
            if self.cfg.mode == "density":
                return float(self._density_loss(r, ti, mi, j, z).mean())
            # mine: DV bound over same-(t, mask) groups is awkward; use one global
            # bound with a fixed within-set permutation (t and mask kept per row)
            perm = torch.roll(torch.arange(len(r)), 1)
            return -float(dv_bound(*self._mine_terms(r, ti, mi, z, perm)))

    def fit(self, checkpoint: TrainingCheckpoint | None = None, state: dict | None = None):
        """Train (or resume from ``state``, a :meth:`TrainingCheckpoint.load` of
        ``checkpoint``); with a ``checkpoint`` the state is saved at every
        validation check, so a killed run resumes there with the same result."""
        cfg = self.cfg
        gen = torch.Generator().manual_seed(self.seed)
        train = torch.as_tensor(self.train_rows)
        val_rows = torch.as_tensor(self.val_rows)
        n_val = min(4096, max(256, 8 * len(self.val_rows)))
        val = self._draw(gen, n_val, val_rows)  # drawn before any resume: the same rows
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.learning_rate,
                               weight_decay=cfg.weight_decay)
        warm = max(1, cfg.max_steps // 20)

        def lr_factor(step):  # linear warm-up, then cosine decay to 2 % of the peak
            if step < warm:
                return (step + 1) / warm
            frac = (step - warm) / max(1, cfg.max_steps - warm)
            return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
        best, best_state, history, start = math.inf, None, [], 0
        # the training-batch DV bounds of the second half of the steps, per (time, mask):
        # the authors' MINE estimate (mine mode; see MINECMI's batch_terms_)
        shape = (len(self.times), len(self.masks))
        bsum, bcount = torch.zeros(shape, dtype=torch.float64), torch.zeros(shape)
        tail = cfg.max_steps // 2
        if state is not None:
            bsum, bcount = state.get("batch_sum", bsum), state.get("batch_count", bcount)
            self.net.load_state_dict(state["net"])
            if state["finished"]:
                self.net.eval()
                self.history = [tuple(h) for h in state["history"]]
                self.batch_terms = (bsum / bcount).numpy()
                return self
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            gen.set_state(state["gen"])
            start, best, best_state = int(state["step"]), float(state["best"]), state["best_state"]
            history = [tuple(h) for h in state["history"]]
        D = self.X0.shape[1]
        bar = tqdm(range(start, cfg.max_steps), total=cfg.max_steps, initial=start,
                   disable=cfg.verbose < 1, desc=f"{cfg.mode} CMI fit")
        for step in bar:
            r, ti, mi, j = self._draw(gen, cfg.batch_size, train)
            z = torch.randn(len(r), D, generator=gen)
            if cfg.mode == "density":
                loss = self._density_loss(r, ti, mi, j, z).mean()
            else:
                # one (t, mask) per batch so the shuffle keeps t and the mask fixed
                ti = ti[:1].expand_as(ti)
                mi = mi[:1].expand_as(mi)
                perm = torch.randperm(len(r), generator=gen)
                tj, tm = self._mine_terms(r, ti, mi, z, perm)
                loss = -dv_bound(tj, tm)
                if step >= tail:
                    bsum[ti[0], mi[0]] -= float(loss.detach())
                    bcount[ti[0], mi[0]] += 1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 10.0)
            opt.step()
            sched.step()
            if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.max_steps:
                self.net.eval()
                v = self._val_loss(val)
                self.net.train()
                history.append((step + 1, float(loss.detach()), v))
                if v < best:
                    best, best_state = v, copy.deepcopy(self.net.state_dict())
                bar.set_postfix(val=f"{v:.4f}")
                if checkpoint is not None and step + 1 < cfg.max_steps:
                    checkpoint.save({
                        "finished": False, "times": self.times, "step": step + 1,
                        "net": self.net.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "gen": gen.get_state(), "best": best,
                        "best_state": best_state, "history": history,
                        "batch_sum": bsum, "batch_count": bcount})
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()
        self.history = history
        self.batch_terms = (bsum / bcount).numpy()  # nan where a pair had no tail batch
        if checkpoint is not None:
            checkpoint.save({"finished": True, "times": self.times, "net": self.net.state_dict(),
                             "history": history, "batch_sum": bsum, "batch_count": bcount})
        return self

    # -- evaluation -----------------------------------------------------------
    def evaluate(self, mask_ids=None, time_ids=None, chunk: int = 1024) -> np.ndarray:
        """Per-test-row terms, shape ``(n_times, n_masks, n_test)``.

        Density mode: ``-log q(x_A | mask)`` in nats. MINE mode: the DV
        influence terms whose mean is the bound for ``I(A; mask)``. Only the
        times ``time_ids`` (indices into ``times``; default all) are filled,
        the others are ``nan``.
        """
        rows = torch.as_tensor(self.test_rows)
        n = len(rows)
        M = len(self.masks)
        mask_ids = range(M) if mask_ids is None else mask_ids
        time_ids = range(len(self.times)) if time_ids is None else time_ids
        out = np.full((len(self.times), M, n), np.nan)
        dA = len(self.a_idx)
        with torch.no_grad():
            for ti in time_ids:
                for mi in mask_ids:
                    if self.cfg.mode == "density":
                        tot = torch.zeros(n)
                        for j in range(dA):
                            for s in range(0, n, chunk):
                                rr = rows[s:s + chunk]
                                k = len(rr)
                                z = None if self.noise is None else self.noise[rr]
                                tt = torch.full((k,), ti, dtype=torch.long)
                                mm = torch.full((k,), mi, dtype=torch.long)
                                jj = torch.full((k,), j, dtype=torch.long)
                                tot[s:s + k] += self._density_loss(rr, tt, mm, jj, z).cpu()
                        out[ti, mi] = tot.double().numpy()
                    else:
                        out[ti, mi] = self._mine_eval(rows, ti, mi, chunk)
        return out

    def _mine_eval(self, rows, ti, mi, chunk):
        n = len(rows)
        tj = torch.zeros(n)
        tm = torch.zeros(self.cfg.n_shuffles, n)
        for s in range(0, n, chunk):
            rr = rows[s:s + chunk]
            k = len(rr)
            z = None if self.noise is None else self.noise[rr]
            tt = torch.full((k,), ti, dtype=torch.long)
            xs = self._x(rr, tt, z)
            temb = self.temb[tt]
            tj[s:s + k] = self.net(*self._to(self._mine_planes(xs, mi, xs), temb))[:, 0].cpu()
            for q in range(self.cfg.n_shuffles):
                # partner row: a fixed cyclic shift of the test rows (never itself)
                src = (torch.arange(s, s + k) + 1 + q * 7919 % max(n - 1, 1)) % n
                src = torch.where(src == torch.arange(s, s + k), (src + 1) % n, src)
                rs = rows[src]
                zs = None if self.noise is None else self.noise[rs]
                xa = self._x(rs, tt, zs)
                planes = self._mine_planes(xs, mi, xa)
                tm[q, s:s + k] = self.net(*self._to(planes, temb))[:, 0].cpu()
        tj, tm = tj.double(), tm.double()
        lme = torch.logsumexp(tm.flatten(), 0) - math.log(tm.numel())
        w = torch.exp(tm - lme).mean(0)
        return (tj - lme - (w - 1.0)).numpy()
