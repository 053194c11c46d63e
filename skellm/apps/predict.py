"""Name the emotion a body shows in raw mocap files, with per-label probabilities and an explanation.

A :class:`Predictor` loads the trained artefacts once (skeleton encoder, base LLM, LoRA adapter and
projector, label sets, preprocessing settings) and predicts many takes in batches. The artefacts come
either from the DVC repo that ``dvc repro`` filled (:func:`repo_artefacts`: params.yaml, models/,
data/split/labels.json) or from a folder written by ``skellm export`` (:func:`exported_artefacts`); both
give the same :class:`Artefacts`, so both predict through one code path.

Each file is read by :func:`skellm.readers.read_motion` with the corpus's reader options and harmonized
by :func:`skellm.data.harmonize.harmonize_motion`, the functions the pipeline's ingest and harmonize stages
use. Its corpus is ``corpus=`` when given, else the corpus whose data folder holds it (repo only), else
the corpus whose training takes have exactly its (harmonized) skeleton; an unknown corpus is scored over
the union of classes with the joint encoder. Recognition is closed-set label scoring (never an Error);
the explanation is greedy generation of the description prompt for the predicted label.

A model trained with ``llm.tokens: vqvae`` reads the action VQ-VAE's code vectors instead of the
encoder's tokens: the Predictor loads ``models/vqvae`` (or the exported folder's ``vqvae/``) and runs it
on the same prepared takes, zero-padded to the joint count it was trained on, as the vqvae_tokens stage
does.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skellm.config import PATHS, Config
from skellm.data.labelspace import LabelSpace

if TYPE_CHECKING:
    from skellm.encoder.dataset import SkeletonSet
    from skellm.vqvae.model import ActionVQVAE

BUNDLE_FILE = "skellm.json"  # settings of an exported model folder
BUNDLE_FORMAT = "skellm-model"
TRAINED_STAGE = "lora_recognize"  # the last LoRA stage's folder under models/ (what evaluate reads)


class ArtefactError(Exception):
    """Missing or inconsistent model artefacts; ``str(err)`` is one line naming the file and cause."""


@dataclass
class Artefacts:
    """Where the trained parts are and how takes were prepared for them."""

    encoder_root: Path  # index.json + one folder per encoder
    llm_dir: Path  # prepared-LLM folder (source.json)
    trained_dir: Path  # adapter/ + projector.safetensors + skeleton_lm.json
    settings: dict[str, Any] = field(default_factory=dict)
    vqvae_dir: Path | None = None  # the action VQ-VAE (model.safetensors + config.json), when trained


# ---- locating artefacts -------------------------------------------------------------------------
def _need(path: Path, hint: str) -> Path:
    if not path.exists():
        raise ArtefactError(f"{path}: not found ({hint})")
    return path


def _read_json(path: Path, hint: str) -> Any:
    try:
        return json.loads(_need(path, hint).read_text())
    except json.JSONDecodeError as exc:
        raise ArtefactError(f"{path}: not valid JSON (line {exc.lineno})") from None


def corpus_layouts(split_table: str | os.PathLike) -> dict[str, list[str]]:
    """{corpus: sorted harmonized layout names} of the takes in a split table."""
    from skellm.data.table import read_takes

    t = read_takes(split_table, ["corpus", "layout"]).to_pylist()
    out: dict[str, set[str]] = {}
    for r in t:
        if r["layout"] is not None:
            out.setdefault(r["corpus"], set()).add(r["layout"])
    return {c: sorted(v) for c, v in sorted(out.items())}


def repo_config(root: str | os.PathLike = ".") -> Config:
    """The typed params of the skellm repo at ``root``."""
    from skellm.config import load_config

    return load_config(_need(Path(root) / "params.yaml", "not a skellm repo; pass --model DIR"))


def repo_settings(root: str | os.PathLike = ".", cfg: Config | None = None) -> dict[str, Any]:
    """Prediction settings of a DVC repo: harmonize params, label sets, layouts, reader options."""
    from skellm.config import as_dict
    from skellm.data.ingest import read_options

    root = Path(root)
    hint = "run `dvc repro` here, or pass --model DIR"
    cfg = cfg or repo_config(root)
    corpora = cfg.data.corpora
    train = _need(root / PATHS.split / "train.parquet", hint)
    return {
        "harmonize": as_dict(cfg.harmonize),
        "labels": _read_json(root / PATHS.labels_json, hint),
        "layouts": _read_json(root / PATHS.harmonized / "layouts.json", hint),
        "corpus_layouts": corpus_layouts(train),
        "read_options": {c: read_options(cc) for c, cc in corpora.items()},
        "corpus_roots": {c: str(cc.root) for c, cc in corpora.items() if cc.root},
        "answer_format": cfg.lora.answer_format,
        "max_new_tokens": cfg.eval.describe_max_new_tokens,
        "no_repeat_ngram": cfg.eval.describe_no_repeat_ngram,
        "repetition_penalty": cfg.eval.describe_repetition_penalty,
        "score_norm": cfg.eval.score_norm,
        "dtype": cfg.llm.dtype,
    }


def repo_artefacts(root: str | os.PathLike = ".") -> Artefacts:
    """The artefacts that ``dvc repro`` wrote in the repo at ``root``."""
    root = Path(root)
    cfg = repo_config(root)
    hint = "run `dvc repro` here, or pass --model DIR"
    enc = root / cfg.encoder.out
    llm = root / cfg.llm.out
    trained = root / PATHS.models / TRAINED_STAGE
    for p in (enc / "index.json", llm / "source.json", trained / "skeleton_lm.json"):
        _need(p, hint)
    return Artefacts(enc, llm, trained, repo_settings(root, cfg), root / cfg.vqvae.out)


def exported_artefacts(folder: str | os.PathLike) -> Artefacts:
    """The artefacts of a folder written by ``skellm export``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtefactError(f"{folder}: no such model folder")
    spec = _read_json(folder / BUNDLE_FILE, "not a folder written by `skellm export`")
    if spec.get("format") != BUNDLE_FORMAT:
        raise ArtefactError(
            f"{folder / BUNDLE_FILE}: not a skellm model folder (format {spec.get('format')!r})"
        )
    parts = spec["parts"]
    settings = {
        **spec["settings"],
        "labels": _read_json(folder / "labels.json", "incomplete model folder"),
        "layouts": _read_json(folder / "layouts.json", "incomplete model folder"),
    }
    vqvae = folder / parts.get("vqvae", "vqvae")  # read only when the adapter reads VQ-VAE tokens
    art = Artefacts(folder / parts["encoder"], folder / parts["llm"], folder / parts["lora"], settings, vqvae)
    for p in (
        art.encoder_root / "index.json",
        art.llm_dir / "source.json",
        art.trained_dir / "skeleton_lm.json",
    ):
        _need(p, "incomplete model folder")
    return art


def load_vqvae(folder: Path | None) -> ActionVQVAE:
    """The trained action VQ-VAE in ``folder``; ArtefactError when it is absent or was never trained."""
    from skellm.vqvae.tokens import UNUSED_FILE
    from skellm.vqvae.train import load

    hint = "the adapter reads llm.tokens: vqvae, which the vqvae_tokens stage trains"
    if folder is None:
        raise ArtefactError(f"model folder has no vqvae part ({hint})")
    if (folder / UNUSED_FILE).exists() and not (folder / "config.json").exists():
        raise ArtefactError(f"{folder}: holds only {UNUSED_FILE}, no trained VQ-VAE ({hint})")
    _need(folder / "config.json", hint)
    _need(folder / "model.safetensors", hint)
    try:
        return load(folder)
    except ValueError as exc:
        raise ArtefactError(f"{folder}: {exc}") from None


# ---- preparing one file -------------------------------------------------------------------------
@dataclass
class Take:
    """One file read and harmonized, ready for the encoder."""

    path: str
    corpus: str | None
    row: dict[str, Any]  # harmonized take-table fields the encoder reads
    info: dict[str, Any]  # format, frames, fps, joints of the raw file


def _graph_key(names: Sequence[str], parents: Sequence[int]) -> tuple:
    return tuple(names), tuple(int(p) for p in parents)


class Predictor:
    """Loads the artefacts once; :meth:`predict_files` then labels and explains any number of takes."""

    def __init__(self, artefacts: Artefacts, device: str = "cpu"):
        from skellm.config import config_from_dict
        from skellm.encoder.infer import load_encoder
        from skellm.llm.model import load_trained

        self.artefacts = artefacts
        s = artefacts.settings
        self.harmonize = config_from_dict({"harmonize": s["harmonize"]}, "model settings").harmonize
        labels = LabelSpace.from_dict(s["labels"])
        self.label_field = labels.field
        self.classes: list[str] = labels.classes
        self.label_sets: dict[str, list[str]] = labels.corpora
        self.labels = labels
        self.read_options: dict[str, dict] = s.get("read_options") or {}
        self.corpus_roots = {c: Path(r).resolve() for c, r in (s.get("corpus_roots") or {}).items()}
        layouts = s.get("layouts") or {}
        by_graph: dict[tuple, set[str]] = {}
        for corpus, names in (s.get("corpus_layouts") or {}).items():
            for name in names:
                if name in layouts:
                    g = layouts[name]
                    by_graph.setdefault(_graph_key(g["joint_names"], g["parents"]), set()).add(corpus)
        self._corpora_by_graph = by_graph
        self.answer_format = s["answer_format"]
        # explanation decoding (settings written before these keys existed decode plainly)
        self.decoding = (
            int(s["max_new_tokens"]),
            int(s.get("no_repeat_ngram", 0)),
            float(s.get("repetition_penalty", 1.0)),
        )
        self.device = device
        from skellm.llm.label_norm import load_label_norm

        # label scoring standardised as evaluate does (settings written before the key: raw scores)
        use_norm = s.get("score_norm", "none") == "train"
        self.label_norm = load_label_norm(artefacts.trained_dir) if use_norm else None

        index = _read_json(artefacts.encoder_root / "index.json", "incomplete encoder folder")
        self.encoder_index: dict[str, str] = dict(index)
        self.encoders = {}
        for name in sorted(set(index.values())):
            folder = artefacts.encoder_root / name
            _need(folder / "model.safetensors", "incomplete encoder folder")
            model, _, cfg = load_encoder(folder)
            self.encoders[name] = (model.to(device), cfg)
        import transformers

        # Users see predictions; loading bars and library deprecation notices go unsaid.
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            self.lm = load_trained(artefacts.llm_dir, artefacts.trained_dir, dtype=s["dtype"])
        self.lm.to(device).eval()
        if self.lm.encoder is not None:  # lora.encoder finetune: the encoder trained with the adapter
            self.encoders = {name: (self.lm.encoder, self.lm.encoder_info[1]) for name in self.encoders}
        # The VQ-VAE stays on the CPU: token_arrays feeds it CPU tensors, as the vqvae_tokens stage does.
        self.vqvae = load_vqvae(artefacts.vqvae_dir) if self.lm.token_kind == "vqvae" else None

    # -- corpus, encoder and label set of a take --
    def graph_corpus(self, names: Sequence[str], parents: Sequence[int]) -> str | None:
        """The one corpus whose training takes have this harmonized skeleton, else None."""
        found = self._corpora_by_graph.get(_graph_key(names, parents), set())
        return next(iter(found)) if len(found) == 1 else None

    def encoder_for(self, corpus: str | None) -> str:
        """The encoder folder that serves ``corpus``; the joint model for a corpus it was not trained on."""
        if corpus in self.encoder_index:
            return self.encoder_index[corpus]
        names = set(self.encoder_index.values())
        if len(names) == 1:
            return next(iter(names))
        raise ArtefactError(
            f"{self.artefacts.encoder_root}: one encoder per corpus "
            f"({', '.join(sorted(self.encoder_index))}) and none for {corpus or 'this file'!r}; pass --corpus"
        )

    def label_set(self, corpus: str | None) -> list[str]:
        """Candidate labels for a take of ``corpus``: its own labels, or the union of classes."""
        return self.label_sets.get(corpus or "") or self.classes

    # -- reading --
    def prepare(self, path: str | os.PathLike, corpus: str | None = None) -> Take:
        """Read and harmonize one file as training did. Raises ReadError (one line) when unusable."""
        from skellm.data.harmonize import harmonize_motion
        from skellm.data.ingest import MissingJointError, motion_row
        from skellm.readers import read_motion
        from skellm.readers.base import ReadError

        hint = corpus or self._root_corpus(path)
        motion = read_motion(path, **self.read_options.get(hint or "", {}))
        try:  # the row ingest would store, then harmonize as the pipeline does
            out, names, parents, fps = harmonize_motion(motion_row(motion, take_id=str(path)), self.harmonize)
        except MissingJointError as exc:  # ingest quarantines these takes as missing_joint
            raise ReadError(path, str(exc)) from None
        except ValueError as exc:
            raise ReadError(path, f"cannot harmonize ({exc})") from None
        corpus = hint or self.graph_corpus(names, parents)
        try:
            self.encoder_for(corpus)
        except ArtefactError as exc:
            raise ReadError(path, str(exc)) from None
        if self.vqvae is not None and len(names) > self.vqvae.joints:  # its input width is fixed
            raise ReadError(
                path, f"{len(names)} joints; the VQ-VAE was trained on at most {self.vqvae.joints}"
            )
        row = {
            "take_id": str(path),
            "corpus": corpus,
            "positions": out.reshape(-1),
            "n_frames": out.shape[0],
            "n_joints": out.shape[1],
            "joint_names": names,
            "parents": parents,
            "fps": fps,
        }
        info = {"format": motion.fmt, "frames": motion.n_frames, "fps": motion.fps, "joints": motion.n_joints}
        return Take(str(path), corpus, row, info)

    def _root_corpus(self, path: str | os.PathLike) -> str | None:
        """The corpus whose data folder (params ``data.corpora.*.root``) holds ``path``."""
        p = Path(path).resolve()
        return next((c for c, root in self.corpus_roots.items() if p.is_relative_to(root)), None)

    # -- the models --
    def encode(self, takes: Sequence[Take], batch_size: int = 16) -> list[dict[str, np.ndarray]]:
        """Tokens of each take: the encoder's (spatial tokens trimmed to the take's own joints), or for a
        ``vqvae`` model the VQ-VAE's ``vqvae`` vectors (W, D) and ``vqvae_mask`` (W,)."""
        from skellm.encoder.dataset import from_rows
        from skellm.encoder.infer import infer

        out: list[dict[str, np.ndarray] | None] = [None] * len(takes)
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(takes):
            groups.setdefault(self.encoder_for(t.corpus), []).append(i)
        for name, idx in groups.items():
            model, cfg = self.encoders[name]
            data = from_rows([takes[i].row for i in idx], cfg["classes"], cfg["label_field"])
            # a vqvae adapter reads only the VQ-VAE's vectors: the GCN need not run
            tok = infer(model, data, batch_size, self.device) if self.vqvae is None else self._vq(data)
            for k, i in enumerate(idx):
                j = int(takes[i].row["n_joints"])
                out[i] = {key: (v[k, :j] if key.startswith("spatial") else v[k]) for key, v in tok.items()}
        return out  # type: ignore[return-value]

    def _vq(self, data: SkeletonSet) -> dict[str, np.ndarray]:
        """``vqvae``/``vqvae_mask`` of a SkeletonSet, its joints zero-padded to the VQ-VAE's as
        :func:`skellm.vqvae.tokens.load_split_sets` pads a split (prepare refused wider takes)."""
        from skellm.vqvae.tokens import token_arrays

        pad = self.vqvae.joints - data.positions.shape[2]
        positions = np.pad(data.positions, ((0, 0), (0, 0), (0, pad), (0, 0)))
        arr = token_arrays(self.vqvae, positions, data.time_mask)
        return {"vqvae": arr["vectors"], "vqvae_mask": arr["mask"]}

    def _stack(self, tokens: Sequence[dict[str, np.ndarray]]):
        import torch

        from skellm.llm.model import select_tokens

        if self.lm.token_kind == "vqvae":  # every take has W = harmonize.frames / stride tokens
            batch = {k: torch.from_numpy(np.stack([t[k] for t in tokens])) for k in ("vqvae", "vqvae_mask")}
            return select_tokens(batch, "vqvae")
        jmax = max(t["spatial"].shape[0] for t in tokens)
        batch = {}
        for key in ("semantic", "temporal", "temporal_mask"):
            batch[key] = torch.from_numpy(np.stack([t[key] for t in tokens]))
        for key in ("spatial", "spatial_mask"):
            arr = np.zeros((len(tokens), jmax, *tokens[0][key].shape[1:]), dtype=tokens[0][key].dtype)
            for i, t in enumerate(tokens):
                arr[i, : len(t[key])] = t[key]
            batch[key] = torch.from_numpy(arr)
        return select_tokens(batch, self.lm.token_kind)

    def predict(
        self,
        takes: Sequence[Take],
        labels: Sequence[str] | None = None,
        explain: bool = True,
        batch_size: int = 16,
        explain_label: str | None = None,
    ) -> list[dict[str, Any]]:
        """Label, per-label probabilities and explanation of each prepared take (same order).

        The explanation answers the description prompt for the predicted label, or for
        ``explain_label`` when given ("why would this be LABEL?"); ``cues`` lists the body cues the
        text states, read back through the cue lexicon (``[cue, +1|-1]``, sorted)."""
        import torch

        from skellm.eval.faithfulness import stated_cues
        from skellm.llm.generate import greedy
        from skellm.llm.label_norm import standardize
        from skellm.llm.prompts import describe_question, recognition_question
        from skellm.llm.scoring import score_labels

        tokens = self.encode(takes, batch_size)
        results: list[dict[str, Any] | None] = [None] * len(takes)
        groups: dict[tuple[tuple[str, ...], str, str | None], list[int]] = {}
        for i, t in enumerate(takes):
            key = (tuple(labels or self.label_set(t.corpus)), self.labels.task(t.corpus), t.corpus)
            groups.setdefault(key, []).append(i)
        for (label_set, task, corpus), idx in groups.items():
            question = recognition_question(task, prompt=self.lm.prompt, candidates=label_set)
            for s in range(0, len(idx), batch_size):
                chunk = idx[s : s + batch_size]
                feats, fmask = self._stack([tokens[i] for i in chunk])
                with torch.inference_mode():
                    ll = score_labels(
                        self.lm, feats, fmask, question, list(label_set), self.answer_format, task
                    )
                    # a take of no known corpus, or labels of several corpora: no statistics, raw scores
                    z = standardize(ll, self.label_norm, corpus, question, list(label_set))
                    probs = torch.softmax(ll if z is None else z, -1).cpu().numpy()
                best = [label_set[int(p.argmax())] for p in probs]
                explained = [explain_label or b for b in best]
                questions = [describe_question(b, task) for b in explained]
                texts = (
                    greedy(self.lm, feats, fmask, questions, *self.decoding)
                    if explain
                    else [None] * len(chunk)
                )
                for k, i in enumerate(chunk):
                    results[i] = {
                        "file": takes[i].path,
                        "corpus": takes[i].corpus,
                        "label": best[k],
                        "probabilities": {lab: float(p) for lab, p in zip(label_set, probs[k], strict=True)},
                        "explanation": texts[k],
                        "explained_label": explained[k] if explain else None,
                        "cues": sorted(map(list, stated_cues(texts[k]))) if explain else None,
                        **takes[i].info,
                    }
        return results  # type: ignore[return-value]

    def predict_files(
        self,
        paths: Sequence[str | os.PathLike],
        corpus: str | None = None,
        labels: Sequence[str] | None = None,
        explain: bool = True,
        batch_size: int = 16,
        explain_label: str | None = None,
    ) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
        """Yield ``(path, result, None)`` or ``(path, None, one-line error)`` per file, in input order."""
        from skellm.readers.base import ReadError

        for s in range(0, len(paths), batch_size):
            chunk = [str(p) for p in paths[s : s + batch_size]]
            prepared: dict[int, Take] = {}
            errors: dict[int, str] = {}
            for i, p in enumerate(chunk):
                try:
                    prepared[i] = self.prepare(p, corpus)
                except ReadError as exc:
                    errors[i] = str(exc)
            results = self.predict(list(prepared.values()), labels, explain, batch_size, explain_label)
            done = dict(zip(prepared, results, strict=True))
            for i, p in enumerate(chunk):
                yield p, done.get(i), errors.get(i)
