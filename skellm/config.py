"""One typed, frozen view of params.yaml: a dataclass per section whose field defaults are the shipped values.

:func:`load_config` reads params.yaml (with DVC's YAML 1.2 booleans), fills missing keys with the defaults and
rejects unknown keys and wrong types with a one-line :class:`ConfigError`. YAML lists are tuples here;
:meth:`Config.to_dict` gives plain dicts/lists back. :data:`PATHS` names the fixed stage files of dvc.yaml.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skellm.io import load_params


class ConfigError(ValueError):
    """A params file that does not fit :class:`Config` (unknown key, wrong type); the message is one line."""


def _one_of(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class SynthConfig:
    """``data.synth``: the embedded synthetic corpora (used when ``data.source`` is ``synth``)."""

    size: str | dict[str, int] = "default"  # tiny (66) | default (500/420/280) | paper | {A: n, B: n, C: n}
    out: str = "data/raw"
    workers: int = 0  # parallel generator processes, 0: all usable cores (same files whatever the count)
    describe_fraction: float = 0.4  # share of takes with a free-text description of their body cues
    mvnx_fraction: float = 0.15  # share of corpus A takes written as Xsens MVNX instead of BVH


@dataclass(frozen=True)
class CorpusConfig:
    """``data.corpora.<name>``. ``labels`` entries are free-form label sources (``kind`` regex | csv | folder,
    each with its own keys; not checked here); ``read`` holds extra reader options."""

    root: str
    patterns: tuple[str, ...] = ("**/*",)
    label_field: str = "emotion"
    label_set: tuple[str, ...] = ()  # empty: any label accepted
    labels: tuple[dict[str, Any], ...] = ()
    fps: float | None = None  # frame rate for formats that store none
    read: dict[str, Any] | None = None
    # class knowledge: CSV of label, part (head hand arm hip leg foot visual), text; several per class
    knowledge: str | None = None


# Corpus D's classes: 26 of NTU RGB+D's, four of them two-person interactions (skellm.synth.actions).
NTU_ACTIONS = (
    "drink_water",
    "eat_meal",
    "brushing_teeth",
    "pickup",
    "throw",
    "sitting_down",
    "standing_up",
    "clapping",
    "cheer_up",
    "hand_waving",
    "kicking_something",
    "hopping",
    "jump_up",
    "make_a_phone_call",
    "pointing_to_something",
    "nod_head_bow",
    "shake_head",
    "salute",
    "falling",
    "touch_head",
    "touch_chest",
    "touch_neck",
    "punching",
    "pushing",
    "hugging",
    "handshaking",
)
# Zero-shot default: six of D's classes never trained, each with a seen relative (drink_water, touch_head,
# ...); NTU's 55/5 and 110/10 protocols hold out about a tenth, these a quarter so the test has 90 takes.
UNSEEN_ACTIONS = ("brushing_teeth", "touch_neck", "make_a_phone_call", "hopping", "standing_up", "hugging")


def default_corpora() -> dict[str, CorpusConfig]:
    """The shipped corpora A (Emilya-like), B (KDAE-like), C (EGBM-like), D (NTU-like), as in params.yaml."""
    seven = ("happiness", "sadness", "neutral", "anger", "disgust", "fear", "surprise")
    return {
        "A": CorpusConfig(
            root="data/raw/A",
            patterns=("**/*.bvh", "**/*.mvnx"),
            label_set=("neutral", "joy", "anger", "panic", "fear", "anxiety", "sadness", "shame"),
            labels=(
                {
                    "kind": "regex",
                    "pattern": r"(?P<subject>S\d+)_(?P<action>[a-z]+(?:_[a-z]+)*)_(?P<emotion>[a-z]+)_T\d+",
                },
                {"kind": "csv", "path": "data/raw/A/annotations.csv"},
            ),
            knowledge="data/raw/A/knowledge.csv",
        ),
        "B": CorpusConfig(
            root="data/raw/B",
            patterns=("**/*.bvh",),
            label_set=seven,
            labels=(
                {
                    "kind": "csv",
                    "path": "data/raw/B/file-info.csv",
                    "columns": {"filename": "filename", "emotion": "emotion", "subject": "actor_ID"},
                },
                {"kind": "csv", "path": "data/raw/B/annotations.csv"},
            ),
            knowledge="data/raw/B/knowledge.csv",
        ),
        "C": CorpusConfig(
            root="data/raw/C",
            patterns=("**/*.txt",),
            fps=30.0,
            label_set=seven,
            labels=(
                {"kind": "folder", "field": "emotion"},
                {"kind": "csv", "path": "data/raw/C/annotations.csv"},
            ),
            knowledge="data/raw/C/knowledge.csv",
        ),
        "D": CorpusConfig(
            root="data/raw/D",
            patterns=("**/*.skeleton",),
            label_field="action",
            fps=30.0,
            label_set=NTU_ACTIONS,
            labels=(
                {
                    "kind": "regex",
                    "pattern": r"(?P<setup>S\d{3})(?P<camera>C\d{3})(?P<subject>P\d{3})R\d{3}A\d{3}",
                },
                {"kind": "csv", "path": "data/raw/D/annotations.csv"},
            ),
            knowledge="data/raw/D/knowledge.csv",
        ),
    }


@dataclass(frozen=True)
class DataConfig:
    source: str = "synth"  # synth: generate data/raw | files: ingest corpora.*.root as they are
    synth: SynthConfig = field(default_factory=SynthConfig)
    workers: int = 0  # parallel reader processes in ingest (0: all usable cores)
    corpora: dict[str, CorpusConfig] = field(default_factory=default_corpora)


@dataclass(frozen=True)
class ValidateConfig:
    on_error: str = "quarantine"  # quarantine | fail
    min_height_m: float = 1.0
    max_height_m: float = 2.3


@dataclass(frozen=True)
class HarmonizeConfig:
    target_fps: float = 30.0
    frames: int = 64
    joints: str = "canonical"  # canonical (19 shared joints) | native (each rig's joints, padded + masked)
    drop_end_sites: bool = False
    center: str = "first_frame"  # first_frame (origin at the first frame's root) | every_frame
    joint_maps: tuple[str, ...] = ()  # pinned rig maps (rigs/*.yaml from `skellm layout`), tried first
    min_map_confidence: float = 0.5  # automatic rig maps below this are quarantined by validate

    def __post_init__(self) -> None:
        _one_of("harmonize.joints", self.joints, ("native", "canonical"))
        _one_of("harmonize.center", self.center, ("first_frame", "every_frame"))
        if self.target_fps <= 0 or self.frames < 1:
            raise ConfigError("harmonize.target_fps must be > 0 and harmonize.frames >= 1")
        if not 0.0 <= self.min_map_confidence <= 1.0:
            raise ConfigError("harmonize.min_map_confidence must be in [0, 1]")


SPLIT_METHODS = ("random", "subject", "cross_subject", "cross_view", "leave_one_corpus_out")
# NTU RGB+D's cross-subject training performers (Shahroudy et al. 2016); the other performers test.
NTU_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)


@dataclass(frozen=True)
class SplitConfig:
    # cross_view by default: D's three views of one performance never straddle train and test by chance,
    # and corpora without cameras (A-C) get the random 4:1 split of the paper
    method: str = "cross_view"  # random | subject | cross_subject | cross_view | leave_one_corpus_out
    test_fraction: float = 0.2
    holdout_corpus: str | None = "C"  # for leave_one_corpus_out
    label_field: str = "label"  # stratify on and list classes of this column (label: each corpus's own)
    # cross_subject: per corpus, the performer numbers that train (digits of the subject id); corpora not
    # listed get the subject method
    train_subjects: dict[str, tuple[int, ...]] = field(default_factory=lambda: {"D": NTU_TRAIN_SUBJECTS})
    test_cameras: tuple[int, ...] = (1,)  # cross_view: these cameras test; takes without a camera: random
    # zero-shot: per corpus, classes held out entirely (test only, never in encoder or LoRA training)
    unseen: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"D": UNSEEN_ACTIONS})

    def __post_init__(self) -> None:
        _one_of("split.method", self.method, SPLIT_METHODS)
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"split.test_fraction must be in (0, 1), got {self.test_fraction}")


@dataclass(frozen=True)
class BaselineConfig:
    classifier: str = "logistic"  # logistic | random_forest


# SUGAR's body parts of the class knowledge (an LLM describes each), then the vision model's text
MOTION_PARTS = ("head", "hand", "arm", "hip", "leg", "foot")
KNOWLEDGE_PARTS = (*MOTION_PARTS, "visual")
# text.knowledge: which parts of the class knowledge (CorpusConfig.knowledge) the text bank uses
KNOWLEDGE_USE = {"both": KNOWLEDGE_PARTS, "motion": MOTION_PARTS, "visual": ("visual",), "none": ()}
# llm.prompt: eai (EAI-LLM's recognition questions) | sugar (SUGAR's, listing the candidate labels)
PROMPTS = ("eai", "sugar")
# what llm.tokens feeds the LM (skellm.llm.model.TOKEN_PARTS says which encoder tokens each kind is)
TOKEN_KINDS = ("semantic", "spatial", "temporal", "spatiotemporal", "both", "vqvae")


@dataclass(frozen=True)
class TextConfig:
    backend: str = "minilm"  # minilm (all-MiniLM-L6-v2, 384-d, packaged) | open_clip (ViT-L/14, 768-d)
    open_clip_model: str = "ViT-L-14"
    open_clip_checkpoint: str | None = None  # local .pt/.safetensors path (never downloaded)
    open_clip_config: str | None = None  # optional model-config JSON for custom open_clip architectures
    templates: tuple[str, ...] = (
        "This is a {label} person.",
        "A person moving with {label}.",
        "The body shows {label}.",
    )
    # prompts of classes whose corpus's labels are actions (as many as ``templates``)
    action_templates: tuple[str, ...] = (
        "A person is doing the action: {label}.",
        "A person performing {label}.",
        "The body shows the motion of {label}.",
    )

    cache_dir: str = ".cache/skellm/text"  # per-prompt features keyed by encoder identity + prompt hash
    # class-knowledge sentences in the text bank (SUGAR's ablation): both | motion (the six body parts)
    # | visual (the vision model's) | none (the templates' prompts only)
    knowledge: str = "both"

    def __post_init__(self) -> None:
        _one_of("text.knowledge", self.knowledge, tuple(KNOWLEDGE_USE))


@dataclass(frozen=True)
class AugmentConfig:
    """``encoder.augment``: training-time augmentation (the defaults keep it off but for the crop)."""

    rotate: float = 0.0  # random rotation about x, y, z in radians (0: off)
    mirror: float = 0.0  # probability of a left-right mirror
    crop_min: float = 0.8  # random crop keeps p in [crop_min, 1] of the valid frames, resized (1: off)


@dataclass(frozen=True)
class EncoderConfig:
    """``encoder``: the skeleton GCN pretrained against the text features (CPU-sized defaults)."""

    model: str = "ctrgcn"  # ctrgcn | stgcn
    input: str = "pose_motion"  # joint | joint_motion | pose_motion
    base_channels: int = 32
    stage_blocks: tuple[int, ...] = (1, 1, 1)  # blocks at widths 1x/2x/4x base (CTR-GCN: 4, 3, 3)
    token_dim: int = 768  # skeleton token width (paper: the CLIP text width)
    dropout: float = 0.0
    temperature: float = 0.07  # initial contrastive temperature (learnable)
    loss: str = "se"  # se | st | ce_only | contrastive_only
    ce_labels: str = "corpus"  # corpus (CE over the take's own corpus labels) | all
    # kl: EAI-LLM's L_con against each label's template-mean text | milnce: every template and class
    # knowledge sentence of the label is a positive (SUGAR's MIL-NCE); zero-shot then uses all of them
    text_loss: str = "milnce"
    # soft CE targets: a take keeps 1 - e of its label and spreads e over its corpus's other labels by
    # how close their texts are; e = soft_labels x (1 - intensity) (x 0.5 where no intensity). 0: hard
    soft_labels: float = 0.0
    training: str = "joint"  # joint (one model, all corpora) | separate (one per corpus)
    epochs: int = 40
    warmup_epochs: float = 2.0  # linear warm-up, then LR /10 at 50%, 75%, 87.5% of training
    batch_size: int = 16
    lr: float = 0.025
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0004
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    batch_by_layout: bool = False  # one rig per batch (faster in native mode, lower accuracy)
    bn_recalibrate: bool = True  # recompute BatchNorm statistics with the final weights
    topk: int = 3
    eval_every: int = 5  # epochs between test evaluations on the curve (0: never)
    log_every: int = 5  # steps between curve rows
    ckpt_every_steps: int = 50  # plus one at each epoch end; resume is automatic
    checkpoint_dir: str = ".cache/skellm/encoder"  # deleted after a completed run unless keep_checkpoints
    keep_checkpoints: bool = False
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads (0: all usable cores: affinity, cgroup quota, OMP_NUM_THREADS)
    out: str = "models/encoder"

    def __post_init__(self) -> None:
        _one_of("encoder.ce_labels", self.ce_labels, ("corpus", "all"))
        _one_of("encoder.text_loss", self.text_loss, ("kl", "milnce"))
        if not 0.0 <= self.soft_labels <= 1.0:
            raise ConfigError("encoder.soft_labels must be in [0, 1]")
        _one_of("encoder.training", self.training, ("joint", "separate"))


@dataclass(frozen=True)
class TQPConfig:
    """``llm.tqp``: SUGAR's Temporal Query Projection (skellm.llm.tqp); also the single Q-Former's.

    query_len k (also the segment length), Q-Former blocks per step, attention heads, inner width.
    The paper's query length is 128 (skellm/llm/presets/paper.yaml); the CPU default is small."""

    query_len: int = 4
    depth: int = 1
    heads: int = 4
    width: int = 256

    def __post_init__(self) -> None:
        if min(self.query_len, self.depth, self.heads, self.width) < 1 or self.width % self.heads:
            raise ConfigError(
                f"llm.tqp: query_len, depth, heads, width must be >= 1 and width ({self.width}) "
                f"divisible by heads ({self.heads})"
            )


@dataclass(frozen=True)
class LLMConfig:
    path: str | None = None  # local HF causal-LM folder; None: the packaged SmolLM2-135M-Instruct
    out: str = "models/llm"
    projector: str = "linear"  # linear (paper) | mlp | tqp (SUGAR) | qformer (one Q-Former, ablation)
    # semantic | spatial | temporal | spatiotemporal | both | vqvae (LLM-AR action sentences)
    tokens: str = "semantic"
    dtype: str = "float32"  # float32 on CPU; bfloat16 for a 7B model on GPUs
    cache_dir: str | None = ".cache/skellm/llm"  # the packaged GGUF's conversion, reused; None: convert
    tqp: TQPConfig = field(default_factory=TQPConfig)
    prompt: str = "eai"  # eai (EAI-LLM's questions) | sugar (SUGAR's, listing the candidate labels)
    # labels: a fresh linear projector starts as the ridge map from each training take's tokens to the
    # LM's input embedding of its label's words (mlp/tqp/qformer start random) | random (paper)
    projector_init: str = "labels"

    def __post_init__(self) -> None:
        _one_of("llm.prompt", self.prompt, PROMPTS)
        _one_of("llm.projector_init", self.projector_init, ("random", "labels"))
        _one_of("llm.projector", self.projector, ("linear", "mlp", "tqp", "qformer"))
        _one_of("llm.tokens", self.tokens, TOKEN_KINDS)
        if self.projector in ("tqp", "qformer") and self.tokens == "semantic":
            raise ConfigError(
                f"llm.projector {self.projector} reads a token sequence, but llm.tokens semantic is one "
                "token: set llm.tokens to temporal (SUGAR), spatiotemporal, both or vqvae"
            )


@dataclass(frozen=True)
class VQVAEConfig:
    """``vqvae``: LLM-AR's action VQ-VAE tokenizer (skellm.vqvae), trained only when ``llm.tokens`` is
    ``vqvae``. Architecture fields are :class:`skellm.vqvae.model.VQConfig`'s; the run uses ``seed``."""

    codes: int = 256  # codebook size U
    dim: int = 64  # code width D (the projector maps it to the LLM's width)
    stride: int = 4  # frames per token: W = harmonize.frames / stride
    hidden: int = 128
    geometry: str = "hyperbolic"  # hyperbolic (Poincare ball) | euclidean (ablation)
    curvature: float = 1.0
    beta: float = 0.25  # commitment weight
    zipf_weight: float = 0.1
    context_weight: float = 0.1
    dead_after: int = 50  # training steps unused before a code is reset
    steps: int = 400  # ~170 s on 2 cores (scripts/fit_vqvae.py)
    batch_size: int = 32
    lr: float = 3.0e-4
    threads: int = 0  # torch CPU threads (0: all usable cores)
    checkpoint_every: int = 50  # steps between resume checkpoints (a killed run resumes)
    checkpoint_dir: str = ".cache/skellm/vqvae"  # the checkpoint is deleted once the run completes
    out: str = "models/vqvae"

    def __post_init__(self) -> None:
        _one_of("vqvae.geometry", self.geometry, ("hyperbolic", "euclidean"))
        if self.stride < 1 or self.stride & (self.stride - 1):
            raise ConfigError(f"vqvae.stride must be a power of 2, got {self.stride}")


BALANCES = ("none", "label")
ENCODER_MODES = ("frozen", "finetune")  # lora.encoder


@dataclass(frozen=True)
class LoraStepsConfig:
    """``lora.describe`` / ``lora.recognize``: one LoRA training stage (defaults: describe's)."""

    steps: int = 30
    batch_size: int = 8
    lr: float = 3.0e-4
    projector_lr: float = 1.0e-3
    warmup_steps: int = 4
    rehearse: float = 0.0  # share of the other task's examples mixed in
    # label: each (corpus, label) class's examples repeated in turn up to the largest class's count, so
    # a corpus of many small classes (D) weighs as much per class as the rest | none: one per take
    balance: str = "none"
    encoder_lr: float = 1.0e-4  # the skeleton encoder's, when lora.encoder is finetune

    def __post_init__(self) -> None:
        _one_of("lora.<stage>.balance", self.balance, BALANCES)


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 64
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    order: str = "DR"  # DR: lora_describe trains description, lora_recognize recognition; RD swaps
    answer_format: str = "A"  # A "[label]" | B "This is a/an [label] person." | C long sentence
    holdout_labels: tuple[str, ...] = ()  # labels kept out of LoRA training, scored zero-shot in evaluate
    # training takes whose descriptions LoRA never trains on (stratified by corpus, then label): the
    # validation split that explanation decoding is tuned on (scripts/tune_decoding.py)
    describe_validation: int = 40
    # training takes per corpus (evenly spaced; 0: all) whose label scores give each label its mean and
    # spread, saved with the final adapter for eval.score_norm train (skellm.llm.label_norm)
    norm_takes: int = 0
    device: str = "auto"  # auto | cpu | cuda
    mixed_precision: str = "no"  # no | bf16 | fp16
    threads: int = 0  # torch CPU threads (0: all usable cores)
    checkpoint_every: int = 20
    checkpoint_dir: str = ".cache/skellm/lora"  # per-stage subfolder, deleted once the stage finishes
    max_grad_norm: float = 1.0
    # batches of rows of about one length (sorted within runs of 50 batches, then shuffled): less padding
    group_by_length: bool = True
    describe: LoraStepsConfig = field(default_factory=LoraStepsConfig)
    recognize: LoraStepsConfig = field(
        default_factory=lambda: LoraStepsConfig(steps=280, warmup_steps=10, rehearse=0.3, balance="label")
    )
    log_every: int = 1  # steps between curve rows
    # frozen: the LoRA stages read the encode_tokens stage's tokens (the paper) | finetune: the joint
    # encoder trains with the adapter (lora.<stage>.encoder_lr), is saved beside it, and re-encodes
    # the takes for evaluate and predict
    encoder: str = "frozen"

    def __post_init__(self) -> None:
        _one_of("lora.encoder", self.encoder, ENCODER_MODES)
        if self.norm_takes < 0:
            raise ConfigError(f"lora.norm_takes must be >= 0 (0: all training takes), not {self.norm_takes}")


SCORE_NORMS = ("train", "none")
GENERATIONS = ("labels", "free")  # eval.generate: decoding on the label-answer trie | free text


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 16
    max_new_tokens: int = 8
    describe_max_new_tokens: int = 40
    # explanations' decoding against loops (tuned on the LoRA validation descriptions, not the test split;
    # scripts/tune_decoding.py): no n-gram of this length twice (0: off); >1 damps generated tokens
    describe_no_repeat_ngram: int = 0
    describe_repetition_penalty: float = 1.2
    max_describe: int = 80  # test takes to describe: an equal share per corpus, its labels in turn
    threads: int = 0  # torch CPU threads (0: all usable cores)
    # which class-knowledge sentences rank unseen classes by the LLM's likelihood (skellm.eval.unseen):
    # both | motion | visual | none; the cost grows with their tokens (visual: 2 short ones a class)
    unseen_knowledge: str = "visual"
    # label scoring: train standardises each label's score by its mean and spread over training takes
    # (skellm.llm.label_norm, saved with the adapter) | none: the raw log-likelihoods
    score_norm: str = "train"
    # generation: labels decodes greedily on the token trie of the corpus's label answers (every answer
    # spells a label) | free: unconstrained text, label parsed (an Error when it names none or several)
    generate: str = "labels"

    def __post_init__(self) -> None:
        _one_of("eval.unseen_knowledge", self.unseen_knowledge, tuple(KNOWLEDGE_USE))
        _one_of("eval.score_norm", self.score_norm, SCORE_NORMS)
        _one_of("eval.generate", self.generate, GENERATIONS)
        if self.describe_no_repeat_ngram < 0:
            raise ConfigError(
                f"eval.describe_no_repeat_ngram must be >= 0, not {self.describe_no_repeat_ngram}"
            )
        if self.describe_repetition_penalty <= 0:
            raise ConfigError(
                f"eval.describe_repetition_penalty must be > 0, not {self.describe_repetition_penalty}"
            )


@dataclass(frozen=True)
class Config:
    """The whole params.yaml. ``Config()`` is the shipped file."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    harmonize: HarmonizeConfig = field(default_factory=HarmonizeConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    text: TextConfig = field(default_factory=TextConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    vqvae: VQVAEConfig = field(default_factory=VQVAEConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        if self.lora.encoder == "finetune":
            if self.llm.tokens == "vqvae":
                raise ConfigError(
                    "lora.encoder finetune trains the skeleton encoder, but llm.tokens vqvae "
                    "reads the VQ-VAE's tokens: set lora.encoder frozen or another llm.tokens"
                )
            if self.encoder.training != "joint":
                raise ConfigError(
                    "lora.encoder finetune needs one encoder for every corpus: set encoder.training joint"
                )
        for corpus, labels in self.split.unseen.items():
            declared = self.data.corpora.get(corpus)
            wrong = sorted(set(labels) - set(declared.label_set)) if declared and declared.label_set else []
            if wrong:
                where = f"data.corpora.{corpus}.label_set"
                raise ConfigError(f"split.unseen.{corpus}: {', '.join(wrong)} not in {where}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts/lists (tuples become lists), e.g. to write into metrics JSON or back to YAML."""
        return as_dict(self)


@dataclass(frozen=True)
class Paths:
    """The pipeline's fixed stage folders and files (dvc.yaml outs; not parameters)."""

    ingested: Path = Path("data/ingested")  # <corpus>.parquet, <corpus>.quarantine.parquet
    validated: Path = Path("data/validated")  # takes.parquet, quarantine.parquet
    harmonized: Path = Path("data/harmonized")  # takes.parquet, layouts.json
    split: Path = Path("data/split")  # train.parquet, test.parquet, labels.json
    text_features: Path = Path("data/text/features")  # stem of .safetensors + .json
    tokens: Path = Path("data/tokens")  # {train,test}.safetensors + .parquet, vqvae_{train,test}.safetensors
    predictions: Path = Path("data/eval/predictions.parquet")  # descriptions.parquet beside it
    baseline_predictions: Path = Path("data/eval/baseline.parquet")
    models: Path = Path("models")  # lora_describe/, lora_recognize/ (encoder.out and llm.out are params)
    metrics: Path = Path("metrics")  # data, baseline, encoder, llm, lora_describe, lora_recognize .json
    curves: Path = Path("metrics/curves")
    plots: Path = Path("metrics/plots")

    @property
    def labels_json(self) -> Path:
        return self.split / "labels.json"

    def metrics_json(self, name: str) -> Path:
        """``metrics/<name>.json`` (data, baseline, encoder, llm, lora_describe, lora_recognize)."""
        return self.metrics / f"{name}.json"


PATHS = Paths()


def load_config(path: str | os.PathLike = "params.yaml") -> Config:
    """Read a params file (DVC's YAML 1.2 booleans) into a :class:`Config`, as :func:`config_from_dict`."""
    return config_from_dict(load_params(path), source=str(path))


def set_dotted(params: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested params dict in place, as ``dvc exp run -S a.b.c=value``; the key must
    already exist (KeyError naming it otherwise), so a stale override cannot pass silently."""
    *parents, leaf = dotted.split(".")
    node = params
    for key in parents:
        if not isinstance(node.get(key), dict):
            raise KeyError(f"params have no {dotted}")
        node = node[key]
    if leaf not in node:
        raise KeyError(f"params have no {dotted}")
    node[leaf] = value


def config_from_dict(d: Mapping[str, Any], source: str = "params") -> Config:
    """A :class:`Config` from a params mapping: missing keys take the defaults, unknown keys and wrong
    types raise :class:`ConfigError` naming ``source`` and the dotted key."""
    return _build(Config, d, "", Config(), source)


def as_dict(obj: Any) -> Any:
    """``obj`` (a config dataclass or any value inside one) as plain dicts, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: as_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [as_dict(v) for v in obj]
    return obj


def _fail(source: str, message: str) -> typing.NoReturn:
    raise ConfigError(f"{source}: {message}")


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _build(cls: type, data: Any, key: str, default: Any, source: str) -> Any:
    """``cls`` from mapping ``data``; keys it lacks come from ``default`` (an instance) or field defaults."""
    if not isinstance(data, Mapping):
        _fail(source, f"{key or 'the top level'} must be a mapping, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    prefix = f"{key}." if key else ""
    for name in data:
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            _fail(source, f"unknown key '{prefix}{name}'{hint}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        sub_default = getattr(default, f.name) if default is not None else None
        if f.name in data:
            if sub_default is None and f.default_factory is not dataclasses.MISSING:
                sub_default = f.default_factory()
            kwargs[f.name] = _convert(hints[f.name], data[f.name], prefix + f.name, sub_default, source)
        elif default is not None:
            kwargs[f.name] = sub_default
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            _fail(source, f"missing key '{prefix}{f.name}'")
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # a section's own check (__post_init__): say which file
        _fail(source, str(exc))


def _convert(tp: Any, value: Any, key: str, default: Any, source: str) -> Any:
    """``value`` checked against (and coerced to) type hint ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for tp_i in inner[:-1]:  # the first member the value fits
            try:
                return _convert(tp_i, value, key, default, source)
            except ConfigError:
                pass
        return _convert(inner[-1], value, key, default, source)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key, default, source)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            _wrong(tp, value, key, source)
        return tuple(_convert(args[0], v, f"{key}[{i}]", None, source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            _wrong(tp, value, key, source)
        return {str(k): _convert(args[1], v, f"{key}.{k}", None, source) for k, v in value.items()}
    if tp is Any:
        return copy.deepcopy(value)  # free-form (label sources, reader options)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        _wrong(tp, value, key, source)
    return value


def _wrong(tp: Any, value: Any, key: str, source: str) -> typing.NoReturn:
    origin = typing.get_origin(tp)
    if origin is tuple:
        want = "a list"
    elif origin is dict:
        want = "a mapping"
    else:
        want = tp.__name__
    _fail(source, f"{key} must be {want}, got {_show(value)}")


def stage_config(path: str | os.PathLike = "params.yaml") -> Config:
    """:func:`load_config` for a DVC stage script: a bad params file ends it with the one-line message."""
    try:
        return load_config(path)
    except (ConfigError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
