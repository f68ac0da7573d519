"""``seq``: a small Transformer encoder-decoder for the sequence tasks, with greedy decoding.

Inputs and targets
------------------
The source is ``ds.X`` read as **token ids** (non-negative integers stored as float32,
0 = padding), as the task generators of :mod:`datafactors.tasks` write them. A ``CLS``
token is put in front (never masked, so an all-padding row still has a state), and ids
above the largest id seen in training map to one ``UNK`` id. The target is
``ds.extra[target_column]`` (default ``"output"``): a string of space-separated tokens;
the target vocabulary is the training targets' tokens plus ``BOS`` / ``EOS`` / padding.

What is trained
---------------
- **Sequence loss**: teacher-forced cross-entropy of the next target token (padding
  ignored), averaged over tokens. ``predict_sequences`` decodes greedily.
- **Class head** (what makes it a Learner): a linear layer on the encoder's CLS state
  predicts ``ds.y``. When the data carries target sequences the head reads the
  *detached* CLS state — a probe that never changes what the seq2seq model learns; on a
  plain classification dataset (no target column) it is the whole objective, and the
  encoder is trained through it. ``predict_proba(X)`` is this head's softmax over the
  ``ds.n_classes`` classes, so for a task dataset it predicts the task's derived class
  (e.g. SCAN's output length bucket).

Dynamics (``record_dynamics=True``) describe the class head: after each epoch, the
softmax and cross-entropy of every training row, whether it was right in its minibatch,
and the exact per-example gradient norm of that cross-entropy over the encoder and the
head (the parameters it depends on in a forward pass; row 0 at initialization).

Architecture: pre-LayerNorm Transformer, ``n_layers`` encoder and ``n_layers``
decoder blocks of width ``d_model`` (<= 128 keeps it CPU-sized) with fixed sinusoidal
positions (so any length can be encoded and decoded). Attention is written with plain
tensor operations so that ``torch.func`` can take per-example gradients through it.

Determinism: the whole fit runs inside ``torch.random.fork_rng`` seeded with ``seed``
(initialization and dropout never touch torch's global generator), minibatch order
comes from ``numpy.random.default_rng(seed)``, and torch uses ``n_threads`` threads while
fitting and predicting — the shared loop of :mod:`datafactors.learners._torch`.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from ..dataset import Dataset
from ..dynamics import TrainingDynamics
from . import REGISTRY
from ._common import check_fit_args
from ._torch import EpochRecorder, check_torch_settings, plan_steps, run_epochs, torch_seed, torch_threads

PAD, BOS, EOS = 0, 1, 2
_MAX_POSITIONS = 1024


@lru_cache(maxsize=1)
def _torch_modules() -> dict[str, Any]:
    """The torch module classes, defined on first use so importing the registry stays light."""
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, d: int, heads: int, dropout: float) -> None:
            super().__init__()
            self.h, self.dh = heads, d // heads
            self.q = nn.Linear(d, d)
            self.kv = nn.Linear(d, 2 * d)
            self.o = nn.Linear(d, d)
            self.drop = nn.Dropout(dropout)

        def project_kv(self, mem):
            """(2, B, heads, Tk, d_head) keys and values of ``mem``."""
            B, Tk, _ = mem.shape
            return self.kv(mem).reshape(B, Tk, 2, self.h, self.dh).permute(2, 0, 3, 1, 4)

        def attend(self, x, kv, bias):
            # bias: additive (B, 1 or Tq, Tk) mask, 0 where attending is allowed (None: attend to all)
            B, Tq, D = x.shape
            q = self.q(x).reshape(B, Tq, self.h, self.dh).transpose(1, 2)
            att = torch.matmul(q, kv[0].transpose(-1, -2)) / math.sqrt(self.dh)
            if bias is not None:
                att = att + bias.unsqueeze(1)
            att = self.drop(torch.softmax(att, dim=-1))
            return self.o(torch.matmul(att, kv[1]).transpose(1, 2).reshape(B, Tq, D))

        def forward(self, x, mem, bias):
            return self.attend(x, self.project_kv(mem), bias)

    class FeedForward(nn.Sequential):
        def __init__(self, d: int, ff: int, dropout: float) -> None:
            super().__init__(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d), nn.Dropout(dropout))

    class EncoderBlock(nn.Module):
        def __init__(self, d, heads, ff, dropout):
            super().__init__()
            self.ln1, self.att, self.ln2, self.ff = (
                nn.LayerNorm(d),
                Attention(d, heads, dropout),
                nn.LayerNorm(d),
                FeedForward(d, ff, dropout),
            )

        def forward(self, x, bias):
            h = self.ln1(x)
            x = x + self.att(h, h, bias)
            return x + self.ff(self.ln2(x))

    class DecoderBlock(nn.Module):
        def __init__(self, d, heads, ff, dropout):
            super().__init__()
            self.ln1, self.self_att = nn.LayerNorm(d), Attention(d, heads, dropout)
            self.ln2, self.cross_att = nn.LayerNorm(d), Attention(d, heads, dropout)
            self.ln3, self.ff = nn.LayerNorm(d), FeedForward(d, ff, dropout)

        def forward(self, y, mem, self_bias, cross_bias):
            h = self.ln1(y)
            y = y + self.self_att(h, h, self_bias)
            y = y + self.cross_att(self.ln2(y), mem, cross_bias)
            return y + self.ff(self.ln3(y))

    class Seq2Seq(nn.Module):
        def __init__(self, n_src, n_tgt, n_classes, d, heads, layers, ff, dropout):
            super().__init__()
            self.src_emb = nn.Embedding(n_src, d)
            self.tgt_emb = nn.Embedding(max(n_tgt, 1), d)
            pos = torch.arange(_MAX_POSITIONS, dtype=torch.float32)[:, None]
            div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
            pe = torch.zeros(_MAX_POSITIONS, d)
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div)[:, : d // 2]
            self.register_buffer("pe", pe, persistent=False)
            self.drop = nn.Dropout(dropout)
            self.enc = nn.ModuleList([EncoderBlock(d, heads, ff, dropout) for _ in range(layers)])
            self.dec = nn.ModuleList([DecoderBlock(d, heads, ff, dropout) for _ in range(layers)])
            self.enc_ln, self.dec_ln = nn.LayerNorm(d), nn.LayerNorm(d)
            self.out = nn.Linear(d, max(n_tgt, 1))
            self.head = nn.Linear(d, n_classes)

        def encode(self, src):
            # src: (B, S) long, position 0 is CLS; padding (0) is masked as a key
            bias = torch.where(src == PAD, -1e9, 0.0).to(self.pe.dtype).unsqueeze(1)
            x = self.drop(self.src_emb(src) + self.pe[: src.shape[1]])
            for blk in self.enc:
                x = blk(x, bias)
            return self.enc_ln(x), bias

        def classify(self, mem, detach: bool):
            cls = mem[:, 0]
            return self.head(cls.detach() if detach else cls)

        def decode_step(self, tok, t, mem_kv, cross_bias, cache):
            """Logits for position ``t`` given token ``tok`` (B,), appending to the self-attention ``cache``."""
            y = self.tgt_emb(tok[:, None]) + self.pe[t : t + 1]
            for j, blk in enumerate(self.dec):
                h = blk.ln1(y)
                kv = blk.self_att.project_kv(h)
                cache[j] = kv if cache[j] is None else torch.cat([cache[j], kv], dim=3)
                y = y + blk.self_att.attend(h, cache[j], None)
                y = y + blk.cross_att.attend(blk.ln2(y), mem_kv[j], cross_bias)
                y = y + blk.ff(blk.ln3(y))
            return self.out(self.dec_ln(y))[:, 0]

        def decode(self, tgt_in, mem, cross_bias):
            T = tgt_in.shape[1]
            causal = torch.triu(torch.full((T, T), -1e9, dtype=self.pe.dtype), diagonal=1).unsqueeze(0)
            y = self.drop(self.tgt_emb(tgt_in) + self.pe[:T])
            for blk in self.dec:
                y = blk(y, mem, causal, cross_bias)
            return self.out(self.dec_ln(y))

    class ClassView(nn.Module):
        """X (float token ids) -> class logits through the encoder and head: what GraNd differentiates."""

        def __init__(self, model, max_id: int) -> None:
            super().__init__()
            self.model, self.max_id = model, max_id

        def forward(self, X):
            ids = torch.round(X).long()
            ids = torch.where(ids > self.max_id, self.max_id + 1, ids)
            cls = torch.full_like(ids[..., :1], self.max_id + 2)
            mem, _ = self.model.encode(torch.cat([cls, ids], dim=-1))
            return self.model.classify(mem, detach=False)

    return {"Seq2Seq": Seq2Seq, "ClassView": ClassView}


def _token_ids(X: np.ndarray, where: str) -> np.ndarray:
    Xa = np.asarray(X)
    if Xa.ndim != 2:
        raise DataError(f"X {where} must be 2-D (n, width) token ids, got shape {Xa.shape}")
    ids = np.rint(Xa)
    bad = (np.abs(ids - Xa) > 1e-6) | (ids < 0) | ~np.isfinite(Xa)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"the seq learner reads X {where} as token ids (integers >= 0, 0 = padding); "
            f"row {r}, column {c} holds {Xa[r, c]!r}"
        )
    return ids.astype(np.int64)


@REGISTRY.register("seq")
class SeqLearner:
    """Small Transformer encoder-decoder (greedy decoding, exact match) behind the Learner protocol.

    See the module docstring for what it reads, what it trains and how ``predict_proba``
    is derived.

    Parameters
    ----------
    d_model : width, 8..128 and divisible by ``n_heads``.
    n_heads : attention heads.
    n_layers : encoder blocks and decoder blocks (each).
    d_ff : feed-forward width (default 4 * d_model).
    dropout : dropout rate in [0, 1).
    lr, weight_decay : Adam settings; gradients are clipped to norm ``clip``.
    schedule : "cosine" (linear warm-up over a ``warmup`` share of the steps, then cosine
        decay to 0 at the last step) or "constant" (``lr`` throughout).
    warmup : share of the steps spent warming up, in [0, 1).
    batch_size : minibatch size.
    n_threads : torch threads while fitting and predicting.
    max_decode_len : longest decoded sequence (default 2 x the longest training target + 10).
    target_column : the ``extra`` column holding target strings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from datafactors import Dataset
    >>> X = np.array([[1, 2, 0], [2, 1, 1], [3, 3, 0], [1, 3, 2]] * 8, dtype=np.float32)
    >>> out = [" ".join("abc"[int(t) - 1] for t in r if t) for r in X]
    >>> ds = Dataset.from_arrays(X, [len(o.split()) % 2 for o in out], extra=pd.DataFrame({"output": out}))
    >>> lrn = SeqLearner(d_model=32, n_layers=1).fit(ds, epochs=2, seed=0)
    >>> lrn.predict_proba(ds.X).shape, 0.0 <= lrn.exact_match(ds) <= 1.0
    ((32, 2), True)
    """

    def __init__(
        self,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int | None = None,
        *,
        dropout: float = 0.0,
        lr: float = 3e-3,
        schedule: str = "cosine",
        warmup: float = 0.05,
        weight_decay: float = 0.0,
        clip: float = 1.0,
        batch_size: int = 64,
        n_threads: int = 1,
        max_decode_len: int | None = None,
        target_column: str = "output",
    ) -> None:
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.lr = lr
        self.schedule = schedule
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.clip = clip
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.max_decode_len = max_decode_len
        self.target_column = target_column
        self.dynamics: TrainingDynamics | None = None
        self.model_ = None
        self.n_features_: int | None = None
        self.n_classes_: int | None = None
        self.max_id_: int | None = None
        self.target_vocab_: list[str] | None = None
        self.decode_len_: int | None = None

    def check_params(self) -> None:
        """Validate the settings (called by fit); errors name the parameter and the value."""

        def is_int(v: object) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        if not (is_int(self.d_model) and 8 <= self.d_model <= 128):
            raise ConfigError(f"d_model == {self.d_model!r}, must be an int in [8, 128]")
        if not (is_int(self.n_heads) and self.n_heads >= 1 and self.d_model % self.n_heads == 0):
            raise ConfigError(f"n_heads == {self.n_heads!r}, must be an int >= 1 dividing d_model ({self.d_model})")
        if self.d_model % 2:
            raise ConfigError(f"d_model == {self.d_model}, must be even (sinusoidal positions)")
        if not (is_int(self.n_layers) and 1 <= self.n_layers <= 8):
            raise ConfigError(f"n_layers == {self.n_layers!r}, must be an int in [1, 8]")
        if self.d_ff is not None and not (is_int(self.d_ff) and self.d_ff >= 1):
            raise ConfigError(f"d_ff == {self.d_ff!r}, must be an int >= 1 or None")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ConfigError(f"dropout == {self.dropout!r}, must be in [0, 1)")
        check_torch_settings(self)
        if isinstance(self.clip, bool) or not isinstance(self.clip, (int, float)) or not self.clip > 0:
            raise ConfigError(f"clip == {self.clip!r}, must be > 0")
        if self.schedule not in ("cosine", "constant"):
            raise ConfigError(f"schedule == {self.schedule!r}, must be 'cosine' or 'constant'")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, (int, float)) or not 0 <= self.warmup < 1:
            raise ConfigError(f"warmup == {self.warmup!r}, must be in [0, 1)")
        if self.max_decode_len is not None and not (
            is_int(self.max_decode_len) and 1 <= self.max_decode_len < _MAX_POSITIONS
        ):
            raise ConfigError(f"max_decode_len == {self.max_decode_len!r}, must be an int in [1, {_MAX_POSITIONS - 1}]")
        if not isinstance(self.target_column, str):
            raise ConfigError(f"target_column == {self.target_column!r}, must be a column name")

    # ------------------------------------------------------------------ fit
    def fit(self, ds: Dataset, *, epochs: float, seed: int, record_dynamics: bool = False) -> SeqLearner:
        check_fit_args(ds, epochs, seed)
        self.check_params()
        src = _token_ids(ds.X, "in fit")
        targets = self._targets(ds)
        with torch_threads(self.n_threads) as torch, torch_seed(seed):
            self._fit(torch, ds, src, targets, float(epochs), int(seed), record_dynamics)
        return self

    def _targets(self, ds: Dataset) -> list[list[str]] | None:
        if ds.extra is None or self.target_column not in ds.extra.columns:
            return None
        col = ds.extra[self.target_column]
        if col.isna().any():
            raise DataError(f"extra column {self.target_column!r} of {ds.name!r} has missing target sequences")
        return [str(t).split() for t in col]

    def _src_tensor(self, torch, ids: np.ndarray):
        ids = np.where(ids > self.max_id_, self.max_id_ + 1, ids)
        cls = np.full((len(ids), 1), self.max_id_ + 2, dtype=np.int64)
        return torch.from_numpy(np.ascontiguousarray(np.c_[cls, ids]))

    @staticmethod
    def _trim(src):
        # right-padded rows: drop the columns that are padding in every row of the batch
        used = (src != PAD).any(0).nonzero()
        return src[:, : int(used.max()) + 1]

    def _fit(self, torch, ds, src_ids, targets, epochs, seed, record):
        n, C = ds.n, ds.n_classes
        self.n_features_, self.n_classes_ = ds.n_features, C
        self.max_id_ = int(src_ids.max()) if src_ids.size else 0
        seq_mode = targets is not None
        if seq_mode:
            toks = sorted({t for seq in targets for t in seq})
            self.target_vocab_ = ["<pad>", "<bos>", "<eos>", *toks]
            index = {t: i for i, t in enumerate(self.target_vocab_)}
            longest = max((len(t) for t in targets), default=0)
            if longest + 1 >= _MAX_POSITIONS:
                raise DataError(
                    f"target sequences of {ds.name!r} reach {longest} tokens; at most {_MAX_POSITIONS - 2} fit"
                )
            self.decode_len_ = min(self.max_decode_len or 2 * longest + 10, _MAX_POSITIONS - 2)
            T = longest + 1
            tgt_in = np.zeros((n, T), dtype=np.int64)
            tgt_out = np.zeros((n, T), dtype=np.int64)
            for i, seq in enumerate(targets):
                ids = [index[t] for t in seq]
                tgt_in[i, : len(ids) + 1] = [BOS, *ids]
                tgt_out[i, : len(ids) + 1] = [*ids, EOS]
            tgt_in_t, tgt_out_t = torch.from_numpy(tgt_in), torch.from_numpy(tgt_out)
        else:
            self.target_vocab_, self.decode_len_ = None, None
        classes = _torch_modules()
        d = self.d_model
        model = classes["Seq2Seq"](
            self.max_id_ + 3,
            len(self.target_vocab_ or []),
            C,
            d,
            self.n_heads,
            self.n_layers,
            self.d_ff or 4 * d,
            float(self.dropout),
        )
        self.model_ = model
        src = self._src_tensor(torch, src_ids)
        y = torch.from_numpy(ds.y)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        ce = torch.nn.functional.cross_entropy
        total = plan_steps(n, epochs, self.batch_size).total_steps
        warm = max(1, round(self.warmup * total))

        def lr_at(k: int) -> float:
            if self.schedule == "constant":
                return self.lr
            return self.lr * min(1.0, (k + 1) / warm) * 0.5 * (1.0 + math.cos(math.pi * k / total))

        def evaluate(_view) -> tuple[np.ndarray, np.ndarray]:
            p = self._class_probs(torch, src)
            loss = -np.log(np.clip(p[np.arange(n), ds.y], 1e-300, None))
            return p.astype(np.float32), loss.astype(np.float32)

        view = classes["ClassView"](model, self.max_id_)
        X_t = torch.from_numpy(np.ascontiguousarray(ds.X, dtype=np.float32))
        rec = EpochRecorder(X_t, y, record, evaluate=evaluate)
        rec.start(view)
        model.train()

        def step(idx: np.ndarray, k: int) -> None:
            mem, bias = model.encode(self._trim(src[idx]))
            logits = model.classify(mem, detach=seq_mode)
            loss = ce(logits, y[idx])
            if seq_mode:
                ti, to = tgt_in_t[idx], tgt_out_t[idx]
                T_b = int((to != PAD).sum(1).max())
                out = model.decode(ti[:, :T_b], mem, bias)
                loss = loss + ce(out.reshape(-1, out.shape[-1]), to[:, :T_b].reshape(-1), ignore_index=PAD)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            for group in opt.param_groups:
                group["lr"] = lr_at(k)
            opt.step()
            rec.mark(idx, logits)

        rng = np.random.default_rng(seed)
        run_epochs(n, epochs=epochs, batch_size=self.batch_size, rng=rng, step=step, on_epoch=lambda: rec.epoch(view))
        model.eval()
        self.dynamics = rec.dynamics(ds, seed, allow_empty=True)

    # ------------------------------------------------------------------ predict
    def _class_probs(self, torch, src, chunk: int = 1024) -> np.ndarray:
        self.model_.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(src), chunk):
                mem, _ = self.model_.encode(self._trim(src[s : s + chunk]))
                out.append(torch.softmax(self.model_.classify(mem, detach=True).double(), dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.n_classes_))

    def _check_X(self, X: np.ndarray) -> np.ndarray:
        if self.model_ is None:
            raise DataError("the learner is not fitted yet; call fit first")
        ids = _token_ids(X, "to predict")
        if ids.shape[1] != self.n_features_:
            raise DataError(f"X must have shape (n, {self.n_features_}), got {ids.shape}")
        return ids

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) softmax of the class head (see the module docstring)."""
        ids = self._check_X(X)
        with torch_threads(self.n_threads) as torch:
            return self._class_probs(torch, self._src_tensor(torch, ids))

    def predict_sequences(self, X: np.ndarray, *, batch_size: int = 512) -> list[str]:
        """Greedy decoding: one space-separated output string per row of ``X``."""
        ids = self._check_X(X)
        if self.target_vocab_ is None:
            raise DataError(
                "this seq learner was fitted without target sequences (no extra column "
                f"{self.target_column!r}); it can only classify"
            )
        with torch_threads(self.n_threads) as torch:
            return self._greedy(torch, self._src_tensor(torch, ids), batch_size)

    def _greedy(self, torch, src, batch_size: int) -> list[str]:
        model, vocab = self.model_, self.target_vocab_
        model.eval()
        res: list[str] = []
        with torch.no_grad():
            for s in range(0, len(src), batch_size):
                mem, bias = model.encode(self._trim(src[s : s + batch_size]))
                B = mem.shape[0]
                # incremental decoding: cross-attention keys once, self-attention keys cached
                mem_kv = [blk.cross_att.project_kv(mem) for blk in model.dec]
                cache: list = [None] * len(model.dec)
                ys = torch.full((B, 1), BOS, dtype=torch.long)
                done = torch.zeros(B, dtype=torch.bool)
                for t in range(self.decode_len_ + 1):
                    nxt = model.decode_step(ys[:, -1], t, mem_kv, bias, cache).argmax(-1)
                    nxt = torch.where(done, PAD, nxt)
                    ys = torch.cat([ys, nxt[:, None]], dim=1)
                    done |= nxt == EOS
                    if bool(done.all()):
                        break
                for row in ys[:, 1:].tolist():
                    toks = []
                    for t in row:
                        if t in (EOS, PAD):
                            break
                        toks.append(vocab[t])
                    res.append(" ".join(toks[: self.decode_len_]))
        return res

    def sequence_correct(self, ds: Dataset) -> np.ndarray:
        """(n,) bool: whether the greedy decoding of each row equals its target exactly."""
        targets = self._targets(ds)
        if targets is None:
            raise DataError(f"{ds.name!r} has no extra column {self.target_column!r} with target sequences")
        pred = self.predict_sequences(ds.X)
        return np.array([p.split() == t for p, t in zip(pred, targets, strict=True)], dtype=bool)

    def exact_match(self, ds: Dataset) -> float:
        """Share of rows whose greedy decoding equals the target sequence exactly."""
        return float(self.sequence_correct(ds).mean()) if ds.n else float("nan")
