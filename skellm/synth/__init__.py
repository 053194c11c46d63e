"""Synthetic emotional-mocap corpora: bodies, actions, emotion cues, descriptions, raw-file writers."""

from skellm.synth.corpora import CORPORA, SIZES, generate, plan_corpus, simulate

__all__ = ["CORPORA", "SIZES", "generate", "plan_corpus", "simulate"]
