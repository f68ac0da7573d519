"""Facility location, with the objective kept apart from the optimizer (as in apricot).

Objective: ``f(S) = sum_i max(0, max_{j in S} sim(j, i))``, monotone submodular; row
``j`` of the similarity is what ``j`` covers. Its similarities are apricot's
(``FacilityLocationSelection``), so selections compare:

- dense (n <= 20,000 and no ``n_neighbors``): ``metric="euclidean"`` gives
  ``sim = max(D^2) - D^2`` over squared Euclidean distances D^2, the max taken over
  all pairs; ``metric="cosine"`` gives ``sim = cos^2``; ``metric="corr"`` gives
  ``sim = r^2``, r the Pearson correlation of two rows across their features (the
  cosine of the row-centred rows; a constant row has similarity 0 to every row, where
  apricot's would be NaN); ``metric="precomputed"`` takes ``X`` itself as the (n, n)
  similarity (any size; negative entries never count, since coverage starts at 0).
- sparse (``n_neighbors`` given, or n > 20,000): row ``j`` of the graph holds ``j``
  itself and its ``n_neighbors`` nearest rows; ``metric="euclidean"`` gives
  ``sim = max(D) - D`` over the stored (not squared) distances, ``"cosine"`` and
  ``"corr"`` ``sim = cos^2`` (of the row-centred rows for corr); every other pair has
  similarity 0. As in apricot, candidate ``j`` covers the rows of its own neighbour
  list. (apricot's sparse cosine ranks neighbours by ``cos^2`` over a dense matrix;
  here by ``cos``, from a block-wise search that never forms it.) Above 20,000 rows
  the neighbour search is approximate at k-means cell borders (see
  :func:`datafactors.select._blas.knn_graph`).

Exact picks from a float32 search (dense). The search runs on a float32 matrix, but
every float32 gain carries an error margin (each entry within ``delta`` of float64, a
bound of the form kcenter uses, ``8 (4 + sqrt d) eps`` times the squared norms): an
upper bound (``gains``) and, for the leader of a step, a lower bound (``lower``). Any
candidate whose upper bound reaches the leader's lower bound is re-measured in float64
from the embeddings (or the given similarity), so the picks are those of a float64
greedy; gains equal within float64 rounding (exact ties on integer data such as digits)
go to the lowest row index. The returned gains are float64, accumulated over the columns
each pick can change. Float64 rows are centred on a mean rounded to a coarse
power-of-two grid, so data on a grid (integer pixels) gives exact distances, as
apricot's float64 arithmetic does.

Fast while exact. (1) The greedy first pick is found before the matrix exists (row sums
of ``D^2`` and ``cos^2`` have closed forms), so each block of rows is scored against it
while still in cache: every row's gain after the first pick, for free. (2) A row whose
columns that can still gain are few (at most n / 4) is kept as a compact list of them
from then on; coverage only grows, so a column that cannot gain now never will, and the
lists shrink as they are re-evaluated. Later gain evaluations read those lists; with (1)
the n x n matrix is never stored (the few rows with many such columns are kept whole),
so memory stays below one n x n float32 matrix. (3) Lazy greedy re-evaluates stale bounds in doubling batches, and all live
rows in one pass when a step would touch a quarter of them.

Optimizers, chosen by name (:data:`OPTIMIZERS`): ``"naive"`` greedy (every gain every
step), ``"lazy"`` greedy (Minoux: a heap of stale upper bounds), ``"two-stage"``
(apricot's: naive greedy for the first ``n_first`` picks, then lazy greedy from the
last naive gains), ``"stochastic"`` greedy (Mirzasoleiman et al.: best of
``(n/k) ln(1/epsilon)`` random candidates per step). naive, lazy and two-stage give the
same picks. Each returns the pick order and the float64 marginal gain of each pick.
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable

import numpy as np

from .._arrays import check_embeddings
from .._errors import ConfigError, DataError
from .._neighbors import unit_rows
from .._validation import SeedLike, check_random_state, seed_int
from . import REGISTRY, uses_embeddings
from ._blas import DENSE_MAX_ROWS, check_count, knn_graph, one_blas_thread, row_blocks

METRICS = ("euclidean", "cosine", "corr", "precomputed")
DEFAULT_SPARSE_NEIGHBORS = 16
_EPS32 = float(np.finfo(np.float32).eps)
_EPS64 = float(np.finfo(np.float64).eps)
# Relative error of a float32 pairwise sum of non-negative terms (numpy: 8 interleaved runs
# of at most 16, then pairs: about (16 + log2 n) u) plus the rounding of each difference.
_KAPPA = 64 * _EPS32
_BUILD_ELEMS = 1 << 20  # elements of one build block (4 MiB): large enough for an efficient gemm
_GATHER_ELEMS = 1 << 20  # elements of the rows evaluated at once


def _heuristic_err(d: int, eps: float) -> float:
    """Relative error bound of a length-``d`` dot product (as in kcenter: 8 (4 + sqrt d) eps)."""
    return 8.0 * (4.0 + math.sqrt(d)) * eps


class DenseFacility:
    """Facility location over a dense float32 matrix in distance form, with float64 re-measurement.

    ``W`` (n, n) holds ``offset - sim`` (None when built with the first pick: then only the
    rows that are not compacted are kept, in ``L``); ``ccur`` is ``offset - coverage``, so
    the gain of row ``j`` is ``sum max(ccur - W[j], 0)``. ``eta`` bounds the error of ``ccur - W``
    per entry against the float64 similarities ``exact_row(j, cols)`` returns. Rows whose
    possibly-gaining columns are few are compacted into a pool the first time they are
    evaluated, and shrink at every later evaluation (coverage only grows, so a column that
    cannot gain now never will). ``head`` lists the greedy picks made while building (the
    first pick, with ``first_pick=True``). Build it with :meth:`from_embeddings` or
    :meth:`from_similarity`.
    """

    def __init__(
        self,
        W: np.ndarray | None,
        *,
        n: int | None = None,
        offset: float,
        eta: float,
        tie_tol: float,
        exact_row: Callable[[int, np.ndarray], np.ndarray],
        exact_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> None:
        self.W = W
        self.n = n = len(W) if W is not None else int(n)  # type: ignore[arg-type]
        # without W, the rows that are never compacted are kept whole: L[long_idx[j]]
        self.long_idx = np.full(n, -1, dtype=np.int64)
        self.L = np.empty((0, n), dtype=np.float32)
        self.offset = np.float32(offset)
        self.eta = np.float32(eta)
        self.eta2 = np.float32(2.0 * float(self.eta))
        self.tie_tol = float(tie_tol)
        self.exact_row, self.exact_pairs = exact_row, exact_pairs
        self.ccur = np.full(n, self.offset, dtype=np.float32)
        self.hi_cur = np.empty_like(self.ccur)
        self.lo_cur = np.empty_like(self.ccur)
        self._refresh()
        # compacted rows: the columns where row c may gain, and W there, in
        # pool[start[c] : start[c] + length[c]]; length -1 means not compacted
        self.cap, self.budget = _pool_limits(n)
        self.start = np.zeros(n, dtype=np.int64)
        self.length = np.full(n, -1, dtype=np.int64)
        self.pool_cols = np.empty(0, dtype=np.int64)
        self.pool_vals = np.empty(0, dtype=np.float32)
        self.pool_used = 0
        self._buf = np.empty((0, n), dtype=np.float32)
        self._buf2 = np.empty((0, n), dtype=np.float32)
        self.taken = np.zeros(n, dtype=bool)
        self.picks: list[int] = []
        self.head: list[int] = []
        self.n_initial = 0
        self.cur64 = np.zeros(n, dtype=np.float64)  # float64 coverage
        self._gains: list[float] = []
        self._bounds: tuple[int, np.ndarray] | None = None
        self.lo_at = np.zeros(n, dtype=np.float64)  # lower bounds found with the upper ones
        self.lo_step = np.full(n, -1, dtype=np.int64)  # ... and the step they hold for

    # ------------------------------------------------------------ construction

    @classmethod
    def from_embeddings(
        cls, X: np.ndarray, metric: str = "euclidean", X64: np.ndarray | None = None, *, first_pick: bool = False
    ) -> DenseFacility:
        """The dense objective of the rows of ``X`` (float32; ``X64``: the same data in float64 if at hand).

        With ``first_pick`` the greedy first pick (the row of largest float64 gain, found from
        closed-form row sums) is made while the matrix is built, and every row's gain after it
        is bounded block by block as it is computed, saving one pass over the matrix.
        """
        X = np.ascontiguousarray(X, dtype=np.float32)
        X64 = X.astype(np.float64) if X64 is None else np.ascontiguousarray(X64, dtype=np.float64)
        n, d = X.shape
        if metric == "euclidean":
            mu = X64.mean(axis=0)
            spread = float(np.sqrt(X64.var(axis=0).max()))
            q = 2.0 ** (math.floor(math.log2(spread)) - 10) if spread > 0 else 1.0
            Z64 = X64 - np.round(mu / q) * q  # a mean on a power-of-two grid: integer data stays exact
            sq64 = np.einsum("ij,ij->i", Z64, Z64)
            # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b as one product: [a, |a|^2, 1] . [-2 b, 1, |b|^2]
            A = np.empty((n, d + 2), dtype=np.float32)
            A[:, :d], A[:, d], A[:, d + 1] = Z64, sq64, 1.0
            B = np.empty((n, d + 2), dtype=np.float32)
            B[:, :d], B[:, d], B[:, d + 1] = -2.0 * A[:, :d], 1.0, A[:, d]
            max_sq = float(sq64.max())
            delta = _heuristic_err(d + 2, _EPS32) * max_sq + 4.0 * _EPS32 * max_sq
            wmax = 4.0 * max_sq + delta  # |a - b|^2 <= 4 max |x|^2 bounds W and the offset
            rows = _Rows(Z64, sq64=sq64, self_value=np.zeros(n))
            # sum_i |x_i - x_j|^2 in closed form: the first pick has the smallest
            rowsum = n * sq64 + sq64.sum() - 2.0 * (Z64 @ Z64.sum(axis=0))
            score, sum_err = -rowsum, 64.0 * _EPS64 * n * wmax
            square, diag = False, np.zeros(n, dtype=np.float32)
            tie_tol = 4.0 * n * (_heuristic_err(d, _EPS64) * 2.0 * max_sq + 4.0 * _EPS64 * wmax)
        elif metric in ("cosine", "corr"):
            Z = X64 - X64.mean(axis=1, keepdims=True) if metric == "corr" else X64
            norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
            if metric == "corr":
                # a row constant up to rounding has no direction: treat it as constant
                scale = np.sqrt(np.einsum("ij,ij->i", X64, X64))
                norms[norms <= 64 * _EPS64 * np.sqrt(d) * scale] = 0.0
            Z64 = np.divide(Z, norms[:, None], out=np.zeros_like(Z), where=norms[:, None] > 0)
            A = B = Z64.astype(np.float32)
            self_sim = (norms > 0).astype(np.float64)
            delta = 2.0 * _heuristic_err(d, _EPS32) + 4.0 * _EPS32
            wmax = 1.0 + delta  # W = -cos^2 in [-1, 0]
            rows = _Rows(Z64, sq64=None, self_value=self_sim)
            # sum_i cos^2 = u_j' (sum_i u_i u_i') u_j: the first pick has the largest
            score = ((Z64 @ (Z64.T @ Z64)) * Z64).sum(axis=1)
            score += self_sim - np.einsum("ij,ij->i", Z64, Z64) ** 2  # a row with itself: exactly 1
            sum_err = 64.0 * _EPS64 * n * (d + 4) ** 2
            square, diag = True, (-self_sim).astype(np.float32)
            tie_tol = 4.0 * n * (2.0 * _heuristic_err(d, _EPS64) + 4.0 * _EPS64)
        else:
            raise ConfigError(f"metric == {metric!r}, must be one of: {', '.join(METRICS)}")
        eta = 2.0 * delta + 2.0 * _EPS32 * (wmax + (wmax if metric == "euclidean" else 0.0)) + 1e-30
        first = None
        if first_pick:
            every = np.arange(n)
            near = np.flatnonzero(score >= score.max() - 2.0 * sum_err)

            def exact_sum(j: int) -> float:
                r = rows(j, every)
                return float((r * r).sum()) if square else -float(r.sum())  # euclidean: -sum D^2, up to n M

            # float64 gains (up to a constant), ties within tie_tol to the lowest index, as _resolve
            exact = np.array([exact_sum(int(j)) for j in near]) if len(near) > 1 else np.zeros(1)
            first = int(near[exact >= exact.max() - tie_tol].min())
        W, rowmax, pre = _build(A, B, diag=diag, square=square, first=first, eta=np.float32(eta))
        if metric == "euclidean":
            # the largest float64 distance, measured among the rows whose float32 maximum is near it
            every = np.arange(n)
            near = np.flatnonzero(rowmax >= float(rowmax.max()) - 2.0 * delta)
            M64 = max(float(rows(int(j), every).max()) for j in near)

            def exact_row(j: int, cols: np.ndarray) -> np.ndarray:
                return np.subtract(M64, rows(j, cols))

            def exact_pairs(r: np.ndarray, cols: np.ndarray) -> np.ndarray:
                return np.subtract(M64, rows.pairs(r, cols))

            offset = M64
        else:
            # cos^2 above 1 is rounding (of parallel rows): clip it
            def exact_row(j: int, cols: np.ndarray) -> np.ndarray:
                return np.minimum(np.square(rows(j, cols)), 1.0)

            def exact_pairs(r: np.ndarray, cols: np.ndarray) -> np.ndarray:
                return np.minimum(np.square(rows.pairs(r, cols)), 1.0)

            offset = 0.0
        obj = cls(W, n=n, offset=offset, eta=eta, tie_tol=tie_tol, exact_row=exact_row, exact_pairs=exact_pairs)
        if first is not None:
            bounds, comp_rows, comp_lens, comp_cols, comp_vals, lrows, lvals, top = pre
            obj._store(comp_rows, comp_lens, comp_cols, comp_vals)
            obj.long_idx[lrows] = np.arange(len(lrows))
            obj.L = lvals
            obj.add(first)
            # the bounds and compacted rows hold while coverage is at least the first pick's row
            np.minimum(obj.ccur, top, out=obj.ccur)
            obj._refresh()
            obj.head = [first]
            bounds[first] = -np.inf
            obj._bounds = (1, bounds * (1.0 + _KAPPA))
        return obj

    @classmethod
    def from_similarity(cls, S: np.ndarray) -> DenseFacility:
        """The objective of a given (n, n) similarity (row ``j``: what ``j`` covers), float32 or float64."""
        n = len(S)
        W = np.empty((n, n), dtype=np.float32)
        smax = 0.0
        for sl in row_blocks(n, n, _BUILD_ELEMS):
            np.negative(S[sl], out=W[sl], casting="same_kind")
            smax = max(smax, float(np.abs(W[sl]).max()))

        def exact_row(j: int, cols: np.ndarray) -> np.ndarray:
            return np.array(S[j][cols], dtype=np.float64)

        def exact_pairs(r: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return np.array(S[r, cols], dtype=np.float64)

        delta = (_EPS32 if S.dtype == np.float64 else 0.0) * smax
        return cls(
            W,
            offset=0.0,
            eta=2.0 * delta + 2.0 * _EPS32 * smax + 1e-30,
            tie_tol=4.0 * n * 4.0 * _EPS64 * smax,
            exact_row=exact_row,
            exact_pairs=exact_pairs,
        )

    # ------------------------------------------------------------ float32 bounds

    def _refresh(self) -> None:
        np.add(self.ccur, self.eta, out=self.hi_cur)
        np.subtract(self.ccur, self.eta, out=self.lo_cur)

    def _sums(self, cand: np.ndarray, cur: np.ndarray, compact: bool) -> np.ndarray:
        """``sum max(cur - W[c], 0)`` per candidate; ``compact`` (with ``cur`` = hi_cur) compacts and prunes rows."""
        out = np.empty(len(cand), dtype=np.float64)
        small = self.length[cand] >= 0
        if small.any():
            out[small] = self._pool_sums(cand[small], cur, compact)
        if not small.all():
            out[~small] = self._row_sums(cand[~small], cur, compact)
        return out

    def _pool_sums(self, c: np.ndarray, cur: np.ndarray, prune: bool) -> np.ndarray:
        """Sums over compacted rows. With ``prune`` (``cur`` = hi_cur) also a lower bound per row,
        kept for :meth:`lower`, and the columns that can no longer gain are dropped once they
        are a quarter of what was read."""
        starts, lens = self.start[c], self.length[c]
        ends = np.cumsum(lens)
        tot = int(ends[-1]) if len(ends) else 0
        if len(c) <= 64:  # a few segments: copy them whole
            spans = [slice(a, a + m) for a, m in zip(starts.tolist(), lens.tolist(), strict=True)]
            cols = np.concatenate([self.pool_cols[sp] for sp in spans]) if spans else self.pool_cols[:0]
            vals = np.concatenate([self.pool_vals[sp] for sp in spans]) if spans else self.pool_vals[:0]
        else:
            pos = np.repeat(starts - (ends - lens), lens)
            pos += np.arange(tot)
            cols, vals = self.pool_cols[pos], self.pool_vals[pos]
        g = cur[cols]
        g -= vals
        np.maximum(g, 0.0, out=g)
        # segment sums from one float64 running sum (its rounding is ~1e-16 of the total)
        run = np.zeros(tot + 1, dtype=np.float64)
        np.cumsum(g, dtype=np.float64, out=run[1:])
        sums = run[ends] - run[ends - lens]
        if prune:
            kidx = np.flatnonzero(g > 0)
            before = np.searchsorted(kidx, ends - lens)  # gaining entries before each row's segment
            n_keep = np.diff(np.append(before, len(kidx)))
            # each gaining entry is at most 2 eta above its value at lo_cur: sum max(x, 0) >= sum x
            self.lo_at[c] = np.maximum(sums - float(self.eta2) * n_keep, 0.0) * (1.0 - _KAPPA)
            self.lo_step[c] = len(self.picks)
            if 4 * len(kidx) < 3 * tot:  # drop what can no longer gain, moving the rest to the front
                dest = np.repeat(starts - before, n_keep)
                dest += np.arange(len(kidx))
                self.pool_cols[dest], self.pool_vals[dest] = cols[kidx], vals[kidx]
                self.length[c] = n_keep
        return sums

    def _row(self, j: int) -> np.ndarray:
        return self.W[j] if self.W is not None else self.L[self.long_idx[j]]

    def _rows(self, c: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The full rows ``c`` (not compacted): a view of W when they are consecutive, else copied to ``out``."""
        if self.W is None:
            return np.take(self.L, self.long_idx[c], axis=0, out=out)
        if int(c[-1]) - int(c[0]) == len(c) - 1 and bool(np.all(np.diff(c) == 1)):
            return self.W[c[0] : c[-1] + 1]
        return np.take(self.W, c, axis=0, out=out)

    def _row_sums(self, c: np.ndarray, cur: np.ndarray, compact: bool) -> np.ndarray:
        out = np.empty(len(c), dtype=np.float64)
        step = min(max(1, _GATHER_ELEMS // self.n), self.n)
        if len(self._buf) < step:
            self._buf = np.empty((step, self.n), dtype=np.float32)
            self._buf2 = np.empty((step, self.n), dtype=np.float32)
        for s in range(0, len(c), step):
            cc = c[s : s + step]
            rows = self._rows(cc, self._buf[: len(cc)])
            G = np.subtract(cur, rows, out=self._buf2[: len(cc)])
            np.maximum(G, 0.0, out=G)
            out[s : s + len(cc)] = G.sum(axis=1)
            if compact and self.pool_used < self.budget:
                self._store(*_compact(G, cc, rows, self.cap))
        return out

    def _store(self, rows: np.ndarray, lens: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        if len(rows) == 0:
            return
        need = self.pool_used + len(cols)
        if need > len(self.pool_cols):
            size = max(need, 2 * len(self.pool_cols), 1024)
            grow = size - self.pool_used
            self.pool_cols = np.concatenate([self.pool_cols[: self.pool_used], np.empty(grow, np.int64)])
            self.pool_vals = np.concatenate([self.pool_vals[: self.pool_used], np.empty(grow, np.float32)])
        self.pool_cols[self.pool_used : need], self.pool_vals[self.pool_used : need] = cols, vals
        self.start[rows] = self.pool_used + np.cumsum(lens) - lens
        self.length[rows] = lens
        self.pool_used = need

    def gains(self, cand: np.ndarray) -> np.ndarray:
        """Upper bounds (n_cand,) of the float64 gains of rows ``cand``."""
        return self._sums(np.asarray(cand, dtype=np.int64), self.hi_cur, True) * (1.0 + _KAPPA)

    def lower(self, j: int) -> float:
        """A lower bound of the float64 gain of row ``j``."""
        if self.lo_step[j] == len(self.picks):
            return float(self.lo_at[j])
        return float(self._sums(np.array([j], dtype=np.int64), self.lo_cur, False)[0]) * (1.0 - _KAPPA)

    def upper_bounds(self) -> np.ndarray:
        """Upper bounds (n,) of every row's current gain (-inf for taken rows), fresh for this step."""
        if self._bounds is not None and self._bounds[0] == len(self.picks):
            return self._bounds[1]
        out = np.full(self.n, -np.inf)
        live = np.flatnonzero(~self.taken)
        out[live] = self.gains(live)
        return out

    # ------------------------------------------------------------ float64

    def _contributing(self, j: int) -> np.ndarray:
        """Columns where row ``j`` may gain: a superset of where its float64 gain is positive."""
        if self.length[j] >= 0:
            s = int(self.start[j])
            cols = self.pool_cols[s : s + int(self.length[j])]
            return cols[self.pool_vals[s : s + len(cols)] < self.hi_cur[cols]].astype(np.int64)
        return np.flatnonzero(self._row(j) < self.hi_cur)

    def exact_gains(self, cand: np.ndarray) -> np.ndarray:
        """Float64 gains of rows ``cand`` given the rows picked so far."""
        parts = [self._contributing(j) for j in np.asarray(cand).tolist()]
        lens = [len(p) for p in parts]
        cols = np.concatenate(parts)
        g = self.exact_pairs(np.repeat(np.asarray(cand, dtype=np.int64), lens), cols)
        g -= self.cur64[cols]
        np.maximum(g, 0.0, out=g)
        return np.bincount(np.repeat(np.arange(len(parts)), lens), weights=g, minlength=len(parts))

    def pick_gains(self) -> np.ndarray:
        """Float64 marginal gain of every pick after the initial ones, in pick order."""
        return np.array(self._gains[self.n_initial :], dtype=np.float64)

    # ------------------------------------------------------------ state

    def add(self, j: int) -> None:
        cols = self._contributing(j)
        row = self.exact_row(j, cols)
        cur = self.cur64[cols]
        diff = row - cur
        self._gains.append(float(np.maximum(diff, 0.0, out=diff).sum()))
        self.cur64[cols] = np.maximum(cur, row)
        if self.length[j] >= 0:  # coverage can only change where the compacted row may gain
            s = int(self.start[j])
            c, v = self.pool_cols[s : s + int(self.length[j])], self.pool_vals[s : s + int(self.length[j])]
            self.ccur[c] = np.minimum(self.ccur[c], v)
        else:
            np.minimum(self.ccur, self._row(j), out=self.ccur)
        self._refresh()
        self.taken[j] = True
        self.picks.append(int(j))

    @property
    def value(self) -> float:
        """``f(S)`` in float64 over every row added so far."""
        return float(self.cur64.sum())


def _pool_limits(n: int) -> tuple[int, int]:
    """(longest compacted row, most pool entries): a compacted row is worth it up to about a
    quarter of a full one; the pool (12 bytes an entry) stays under an n x n float32 matrix."""
    return max(16, n // 4), max(1024, n * n // 4)


def _compact(
    G: np.ndarray, rows: np.ndarray, W: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``G`` (gains per column, >= 0; ``W``: their entries) with at most ``cap``
    positive columns, as (row ids, lengths, cols, W there)."""
    mask = G > 0
    cnt = np.count_nonzero(mask, axis=1)
    few = np.flatnonzero(cnt <= cap)
    r, cols = np.divmod(np.flatnonzero(mask if len(few) == len(G) else mask[few]), G.shape[1])
    return rows[few], cnt[few], cols, W[few[r], cols]


class _Rows:
    """Float64 dot products (or squared distances) of one row of ``Z`` with the rows ``cols``.

    ``self_value`` is written where a row meets itself.
    """

    def __init__(self, Z: np.ndarray, *, sq64: np.ndarray | None, self_value: np.ndarray) -> None:
        self.Z, self.sq64, self.self_value = Z, sq64, self_value

    def __call__(self, j: int, cols: np.ndarray) -> np.ndarray:
        g = self.Z[cols] @ self.Z[j]
        if self.sq64 is not None:
            g *= -2.0
            g += self.sq64[cols]
            g += self.sq64[j]
            np.maximum(g, 0.0, out=g)
        g[cols == j] = self.self_value[j]
        return g

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The same for the pairs ``(rows[t], cols[t])``."""
        g = np.einsum("ij,ij->i", self.Z[rows], self.Z[cols])
        if self.sq64 is not None:
            g *= -2.0
            g += self.sq64[cols]
            g += self.sq64[rows]
            np.maximum(g, 0.0, out=g)
        same = rows == cols
        g[same] = self.self_value[rows[same]]
        return g


def _build(
    A: np.ndarray,
    B: np.ndarray,
    *,
    diag: np.ndarray,
    square: bool,
    first: int | None,
    eta: np.float32,
) -> tuple[np.ndarray | None, np.ndarray, tuple | None]:
    """``W = A @ B.T`` (or ``-(A @ B.T)^2``) block by block, with float32 row maxima.

    Without ``first`` the whole matrix is returned. With ``first`` (the first pick) its
    block is computed first and every block is then scored against its row while in
    cache: each row's gain after the first pick (an upper bound,
    ``sum max(W[first] + eta - W[j], 0)``) and, for the rows that may gain on few columns,
    those columns and entries. Only the other rows are kept whole; no n x n matrix is
    stored. Returns ``(None, rowmax, (bounds, rows, lengths, cols, W values, long rows,
    their entries, W[first]))``.
    """
    n = len(A)
    rowmax = np.empty(n, dtype=np.float32)
    blocks = list(row_blocks(n, n, _BUILD_ELEMS))
    if first is None:
        W = np.empty((n, n), dtype=np.float32)
    else:
        blocks.sort(key=lambda sl: not (sl.start <= first < sl.stop))
        cap, budget = _pool_limits(n)
        stored = 0
        bounds = np.empty(n, dtype=np.float64)
        parts: list[tuple] = []
        long_rows: list[np.ndarray] = []
        long_vals: list[np.ndarray] = []
        rows_max = max(sl.stop - sl.start for sl in blocks)
        bbuf = np.empty((rows_max, n), dtype=np.float32)
        buf = np.empty((rows_max, n), dtype=np.float32)
        mbuf = np.empty((rows_max, n), dtype=bool)
    with one_blas_thread():
        for sl in blocks:
            blk = W[sl] if first is None else bbuf[: sl.stop - sl.start]
            np.matmul(A[sl], B.T, out=blk)
            if square:
                np.square(blk, out=blk)
                np.negative(blk, out=blk)
            rows = np.arange(sl.start, sl.stop)
            blk[rows - sl.start, rows] = diag[rows]
            if not square:
                rowmax[sl] = blk.max(axis=1)
            if first is None:
                continue
            if sl.start <= first < sl.stop:
                top = blk[first - sl.start].copy()
                hi = top + eta
            # row j gains where W[j] < W[first] + eta; short rows are compacted and summed
            # from their entries, long ones kept whole and summed over the row
            r, cols = np.divmod(np.flatnonzero(np.less(blk, hi, out=mbuf[: len(blk)])), n)
            cnt = np.bincount(r, minlength=len(blk))
            few = cnt <= cap
            if stored + int(cnt[few].sum()) > budget:  # the pool is full: keep whole rows
                few[:] = False
            stored += int(cnt[few].sum())
            if not few.all():
                keep = few[r]
                r, cols = r[keep], cols[keep]
            vals = blk[r, cols]
            sums = np.bincount(r, weights=hi[cols] - vals, minlength=len(blk))
            bounds[sl.start + np.flatnonzero(few)] = sums[few]
            parts.append((rows[few], cnt[few], cols, vals))
            if not few.all():
                many = np.flatnonzero(~few)
                long_rows.append(rows[many])
                long_vals.append(blk[many].copy())
                G = np.subtract(hi, blk[many], out=buf[: len(many)])
                np.maximum(G, 0.0, out=G)
                bounds[sl.start + many] = G.sum(axis=1)
    if first is None:
        return W, rowmax, None
    cat = [np.concatenate([p[i] for p in parts]) for i in range(4)]
    lrows = np.concatenate(long_rows) if long_rows else np.empty(0, dtype=np.int64)
    lvals = np.concatenate(long_vals) if long_vals else np.empty((0, n), dtype=np.float32)
    return None, rowmax, (bounds, *cat, lrows, lvals, top)


class SparseFacility:
    """Facility location over a sparse similarity graph in CSR form (row ``j``: what ``j`` covers).

    Gains are float64 sums of float32 entries minus float32 coverage (each difference exact),
    so they need no re-measuring.
    """

    tie_tol = 0.0

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int) -> None:
        self.indptr, self.indices, self.data, self.n = indptr, indices, data, n
        self.cur = np.zeros(n, dtype=np.float32)
        self.taken = np.zeros(n, dtype=bool)
        self.picks: list[int] = []
        self.head: list[int] = []
        self.n_initial = 0
        self._gains: list[float] = []

    @classmethod
    def from_embeddings(
        cls, X: np.ndarray, metric: str = "euclidean", n_neighbors: int = DEFAULT_SPARSE_NEIGHBORS, seed: int = 0
    ) -> SparseFacility:
        n = len(X)
        if metric == "euclidean":
            Ind, D = knn_graph(X, n_neighbors, seed=seed)
            np.subtract(D.max(), D, out=D)
        else:
            Z = X - X.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32) if metric == "corr" else X
            Ind, D = knn_graph(unit_rows(Z), n_neighbors, seed=seed)
            # unit rows: |a - b|^2 = 2 - 2 cos
            np.square(D, out=D)
            np.subtract(1.0, D / 2.0, out=D)
            np.square(D, out=D)
        m = Ind.shape[1]
        indptr = np.arange(0, n * m + 1, m, dtype=np.int64)
        return cls(indptr, Ind.astype(np.int32).ravel(), D.ravel(), n)

    def gains(self, cand: np.ndarray) -> np.ndarray:
        cand = np.asarray(cand, dtype=np.int64)
        out = np.empty(len(cand), dtype=np.float64)
        for s in range(0, len(cand), 1 << 16):
            c = cand[s : s + (1 << 16)]
            starts = self.indptr[c]
            lens = self.indptr[c + 1] - starts
            offsets = np.cumsum(lens) - lens
            pos = np.repeat(starts - offsets, lens) + np.arange(int(lens.sum()))
            vals = self.data[pos].astype(np.float64)
            vals -= self.cur[self.indices[pos]]
            np.maximum(vals, 0.0, out=vals)
            out[s : s + len(c)] = np.add.reduceat(vals, offsets)
        return out

    def lower(self, j: int) -> float:
        return float(self.gains(np.array([j]))[0])

    exact_gains = gains

    def upper_bounds(self) -> np.ndarray:
        out = self.gains(np.arange(self.n))
        out[self.taken] = -np.inf
        return out

    def add(self, j: int) -> None:
        self._gains.append(float(self.gains(np.array([j]))[0]))
        s, e = self.indptr[j], self.indptr[j + 1]
        cols = self.indices[s:e]
        self.cur[cols] = np.maximum(self.cur[cols], self.data[s:e])
        self.taken[j] = True
        self.picks.append(int(j))

    def pick_gains(self) -> np.ndarray:
        return np.array(self._gains[self.n_initial :], dtype=np.float64)

    @property
    def value(self) -> float:
        return float(self.cur.sum(dtype=np.float64))


Objective = DenseFacility | SparseFacility


# ---------------------------------------------------------------- optimizers


def _resolve(obj: Objective, cand: np.ndarray) -> int:
    """The row of ``cand`` with the largest float64 gain; gains within ``tie_tol`` of it -> lowest index."""
    g = obj.exact_gains(cand)
    return int(cand[g >= g.max() - obj.tie_tol].min())


def _best(obj: Objective, cand: np.ndarray, hi: np.ndarray) -> int:
    """The exact best of ``cand`` given fresh upper bounds ``hi``: re-measure whatever may beat the leader."""
    b = int(np.argmax(hi))
    thr = obj.lower(int(cand[b])) - obj.tie_tol
    close = hi >= thr
    if np.count_nonzero(close) == 1:
        return int(cand[b])
    return _resolve(obj, cand[close])


def _live(obj: Objective) -> np.ndarray:
    return np.flatnonzero(~obj.taken)


def naive_greedy(obj: Objective, k: int, **_: object) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate every remaining gain at every step."""
    picks = list(obj.head)
    while len(picks) < k:
        live = _live(obj)
        j = _best(obj, live, obj.gains(live))
        picks.append(j)
        obj.add(j)
    return np.array(picks, dtype=np.int64), obj.pick_gains()


def _lazy(obj: Objective, k: int, bounds: np.ndarray, fresh: bool, batch: int) -> list[int]:
    """``k`` lazy-greedy picks from upper bounds (n,) that are current (``fresh``) or from an earlier step.

    Within a step the number of stale entries re-evaluated per round doubles from ``batch``;
    once a step has re-evaluated a quarter of the live rows, every live row is evaluated in
    one vectorised pass and the heap rebuilt (what the first picks after a large one need).
    """
    live = _live(obj)
    heap = list(zip((-bounds[live]).tolist(), live.tolist(), strict=True))
    heapq.heapify(heap)
    step = len(obj.picks)
    stamp = np.full(obj.n, step if fresh else -1, dtype=np.int64)  # step at which a bound was computed
    out: list[int] = []
    while len(out) < k:
        step = len(obj.picks)
        size, spent = batch, 0
        while stamp[heap[0][1]] != step:
            if spent >= len(heap) // 4:
                live = np.sort(np.array([c for _, c in heap], dtype=np.int64))
                heap = list(zip((-obj.gains(live)).tolist(), live.tolist(), strict=True))
                heapq.heapify(heap)
                stamp[live] = step
                break
            popped = [heapq.heappop(heap)[1] for _ in range(min(size, len(heap)))]
            cand = np.array(popped, dtype=np.int64)
            for g, c in zip((-obj.gains(cand)).tolist(), popped, strict=True):
                heapq.heappush(heap, (g, c))
            stamp[cand] = step
            spent += len(popped)
            size = min(2 * size, 1024)
        i = heap[0][1]
        # fresh leader: anything whose bound reaches its lower bound may still win
        thr = obj.lower(i) - obj.tie_tol
        top = [heapq.heappop(heap)]
        while heap and -heap[0][0] >= thr:
            top.append(heapq.heappop(heap))
        stale = [c for _, c in top if stamp[c] != step]
        if stale:
            new = dict(zip(stale, obj.gains(np.array(stale, dtype=np.int64)).tolist(), strict=True))
            stamp[stale] = step
            top = [((-new[c]) if c in new else u, c) for u, c in top]
        close = [c for u, c in top if -u >= thr]
        j = i if len(close) == 1 else _resolve(obj, np.array(sorted(close), dtype=np.int64))
        for entry in top:
            if entry[1] != j:
                heapq.heappush(heap, entry)
        obj.add(j)
        out.append(j)
    return out


def lazy_greedy(obj: Objective, k: int, *, batch: int = 16, **_: object) -> tuple[np.ndarray, np.ndarray]:
    """Minoux's lazy greedy: pop stale upper bounds, re-evaluate, pick once the top is fresh.

    Submodularity keeps an old upper bound an upper bound of the current gain, so a freshly
    evaluated top of the heap leads; whatever bound still reaches the leader's lower bound
    is re-measured, so the picks equal :func:`naive_greedy`'s. ``batch`` stale entries are
    re-evaluated per round at first (the picks do not depend on it).
    """
    picks = list(obj.head)
    if len(picks) < k:
        picks += _lazy(obj, k - len(picks), obj.upper_bounds(), True, batch)
    return np.array(picks, dtype=np.int64), obj.pick_gains()


def two_stage_greedy(
    obj: Objective, k: int, *, n_first: int = 10, batch: int = 16, **_: object
) -> tuple[np.ndarray, np.ndarray]:
    """apricot's two-stage greedy: naive greedy for the first ``n_first`` picks, then lazy greedy.

    The lazy stage starts from the gains of the last naive step (upper bounds for every
    later step); same picks as naive and lazy.
    """
    picks = list(obj.head)
    bounds = None
    while len(picks) < min(n_first, k):
        live = _live(obj)
        hi = obj.gains(live)
        j = _best(obj, live, hi)
        bounds = np.full(obj.n, -np.inf)
        bounds[live] = hi
        picks.append(j)
        obj.add(j)
    if len(picks) < k:
        if bounds is None:
            picks += _lazy(obj, k - len(picks), obj.upper_bounds(), True, batch)
        else:
            picks += _lazy(obj, k - len(picks), bounds, False, batch)
    return np.array(picks, dtype=np.int64), obj.pick_gains()


def stochastic_greedy(
    obj: Objective, k: int, *, epsilon: float = 0.01, rng: np.random.Generator, **_: object
) -> tuple[np.ndarray, np.ndarray]:
    """Mirzasoleiman et al.'s stochastic greedy: each step, the best of ``(n/k) ln(1/epsilon)`` random candidates."""
    if obj.head:
        raise ConfigError("stochastic greedy makes its own first pick: build the objective without first_pick")
    size = max(1, math.ceil(obj.n / k * math.log(1.0 / epsilon)))
    pool = _live(obj)  # unselected rows live in pool[:m]
    where = np.zeros(obj.n, dtype=np.int64)
    where[pool] = np.arange(len(pool))
    n_live = len(pool)
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        m = n_live - t
        pos = rng.choice(m, size=min(size, m), replace=False) if size < m else np.arange(m)
        cand = np.sort(pool[pos])
        j = _best(obj, cand, obj.gains(cand))
        picks[t] = j
        obj.add(j)
        pj, last = where[j], pool[m - 1]  # swap j out of the live prefix
        pool[pj], where[last] = last, pj
        pool[m - 1], where[j] = j, m - 1
    return picks, obj.pick_gains()


OPTIMIZERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "naive": naive_greedy,
    "lazy": lazy_greedy,
    "two-stage": two_stage_greedy,
    "stochastic": stochastic_greedy,
}


# ---------------------------------------------------------------- public function


def facility_location(
    X: object,
    k: int,
    *,
    metric: str = "euclidean",
    optimizer: str = "lazy",
    n_neighbors: int | None = None,
    initial_subset: object = None,
    epsilon: float = 0.01,
    batch: int = 16,
    n_first: int = 10,
    seed: SeedLike = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy facility-location selection of ``k`` rows of ``X``.

    Parameters
    ----------
    X : array (n_samples, n_features), finite; with ``metric="precomputed"`` the
        (n_samples, n_samples) similarity, row ``j`` what ``j`` covers.
    k : rows to select, in [1, n_samples - len(initial_subset)].
    metric : "euclidean", "cosine", "corr" or "precomputed" (similarities as in apricot;
        see the module docstring).
    optimizer : "lazy" (default), "naive", "two-stage" or "stochastic".
    n_neighbors : build a sparse kNN similarity graph with this many neighbours per row.
        None means dense up to 20,000 rows and 16 neighbours above (not with "precomputed").
    initial_subset : row indices already selected (or a boolean mask of length n_samples):
        their coverage counts from the start, they are never picked again and they are
        not in the output, which holds the ``k`` new rows (as apricot's ``ranking``).
    epsilon : stochastic greedy's ``epsilon`` (sample ``(n/k) ln(1/epsilon)`` per step).
    batch : stale heap entries re-evaluated together by lazy greedy (the picks do not
        depend on it).
    n_first : picks made by naive greedy before the two-stage optimizer turns lazy
        (apricot's ``n_first_selections``).
    seed : int or Generator, for stochastic greedy and the kNN partition at large n.

    Returns
    -------
    indices : ndarray (k,) int64 in pick order.
    gains : ndarray (k,) float64, the marginal gain of each pick given the earlier picks
        and the initial subset; they sum to ``f(S)`` minus ``f(initial_subset)``.

    Raises
    ------
    ConfigError
        An unknown metric or optimizer, or ``n_neighbors`` with "precomputed".
    DataError
        A bad ``X`` (NaN, not square for "precomputed"), ``k`` or ``initial_subset``
        (not integer indices, out of range, duplicated, or too many to leave ``k`` rows).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [8.0], [9.0], [11.0]])
    >>> idx, gains = facility_location(X, 2)
    >>> idx.tolist(), gains.tolist()
    ([2, 4], [588.0, 120.0])
    >>> facility_location(X, 1, initial_subset=[2])[0].tolist()
    [4]
    """
    if metric not in METRICS:
        raise ConfigError(f"metric == {metric!r}, must be one of: {', '.join(METRICS)}")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer == {optimizer!r}, must be one of: {', '.join(OPTIMIZERS)}")
    if not (isinstance(epsilon, float | int) and 0 < epsilon < 1):
        raise ConfigError(f"epsilon == {epsilon!r}, must be in (0, 1)")
    for name, value in (("batch", batch), ("n_first", n_first)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "batch" else 0):
            raise ConfigError(f"{name} == {value!r}, must be an int >= {1 if name == 'batch' else 0}")
    if metric == "precomputed" and n_neighbors is not None:
        raise ConfigError(f"n_neighbors == {n_neighbors!r} needs embeddings; with metric='precomputed' pass None")
    X32 = check_embeddings(X, name="X")
    n = len(X32)
    if metric == "precomputed" and X32.shape != (n, n):
        raise DataError(f"X must be a square (n, n) similarity matrix for metric='precomputed', got {X32.shape}")
    initial = _check_initial_subset(initial_subset, n)
    if len(initial) and isinstance(k, numbers.Integral) and not isinstance(k, bool) and k > n - len(initial):
        raise DataError(f"k == {int(k)}, must be <= the {n - len(initial)} rows left beside initial_subset")
    k = check_count(k, n - len(initial), "k")
    rng = check_random_state(seed)
    if metric == "precomputed":
        raw = np.asarray(X)
        obj: Objective = DenseFacility.from_similarity(raw if raw.dtype == np.float64 else X32)
    else:
        raw = np.asarray(X)
        obj = build_objective(
            X32,
            metric=metric,
            n_neighbors=n_neighbors,
            seed=rng,
            X64=raw if raw.dtype == np.float64 else None,
            first_pick=optimizer != "stochastic" and len(initial) == 0,
        )
    for j in initial.tolist():
        obj.add(j)
    obj.n_initial = len(initial)
    return OPTIMIZERS[optimizer](obj, k, epsilon=float(epsilon), batch=batch, n_first=n_first, rng=rng)


def _check_initial_subset(initial_subset: object, n: int) -> np.ndarray:
    """``initial_subset`` as unique int64 row indices in [0, n), else one DataError."""
    if initial_subset is None:
        return np.empty(0, dtype=np.int64)
    arr = np.asarray(initial_subset)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise DataError(f"initial_subset as a boolean mask must have shape ({n},), got {arr.shape}")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not all(isinstance(v, numbers.Integral) for v in arr.tolist()):
        raise DataError(f"initial_subset must be a 1-D list of row indices, got {initial_subset!r:.80}")
    idx = arr.astype(np.int64)
    bad = idx[(idx < 0) | (idx >= n)]
    if len(bad):
        raise DataError(f"initial_subset holds {int(bad[0])}, must be row indices in [0, {n})")
    uniq, counts = np.unique(idx, return_counts=True)
    if (counts > 1).any():
        raise DataError(f"initial_subset holds row {int(uniq[counts > 1][0])} more than once")
    if len(idx) >= n:
        raise DataError(f"initial_subset holds all {n} rows, leaving none to select")
    return idx


def build_objective(
    X: np.ndarray,
    *,
    metric: str = "euclidean",
    n_neighbors: int | None = None,
    seed: SeedLike = 0,
    X64: np.ndarray | None = None,
    first_pick: bool = False,
) -> Objective:
    """The facility-location objective of ``X``: dense up to 20,000 rows unless ``n_neighbors`` is given.

    ``first_pick``: a dense objective makes the greedy first pick while it is built (see
    :meth:`DenseFacility.from_embeddings`); for naive, lazy and two-stage greedy only.
    """
    if n_neighbors is None:
        if len(X) <= DENSE_MAX_ROWS:
            return DenseFacility.from_embeddings(X, metric, X64, first_pick=first_pick)
        n_neighbors = DEFAULT_SPARSE_NEIGHBORS
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int) or n_neighbors < 1:
        raise DataError(f"n_neighbors == {n_neighbors!r}, must be an int >= 1 (or None)")
    return SparseFacility.from_embeddings(X, metric, n_neighbors, seed=seed_int(seed))


@REGISTRY.register("facility_location")
@uses_embeddings
def facility_location_select(
    ds,
    k,
    *,
    scores=None,
    embeddings=None,
    rng: np.random.Generator,
    metric: str = "euclidean",
    optimizer: str = "lazy",
    n_neighbors: int | None = None,
    epsilon: float = 0.01,
    initial_subset=None,
    n_first: int = 10,
):
    """Facility location over ``embeddings`` (default ``ds.X``; an (n, n) similarity with
    ``metric="precomputed"``); see :func:`facility_location`. ``initial_subset`` (row indices
    or a mask) counts as already selected: it covers, is never picked and is not returned;
    ``n_first`` is the naive share of ``optimizer="two-stage"``."""
    idx, _ = facility_location(
        embeddings, k, metric=metric, optimizer=optimizer, n_neighbors=n_neighbors, epsilon=epsilon,
        initial_subset=initial_subset, n_first=n_first, seed=rng,
    )  # fmt: skip
    return idx
