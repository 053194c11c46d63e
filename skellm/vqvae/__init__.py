"""LLM-AR's tokenizer: an action VQ-VAE with a Euclidean or hyperbolic codebook and language-like
(Zipf, context) regularisers, turning skeleton sequences into discrete "action sentences"."""

from skellm.vqvae.codebook import PAD, VectorQuantizer
from skellm.vqvae.model import ActionVQVAE, VQConfig, VQOutput
from skellm.vqvae.train import load, save, train_vqvae

__all__ = ["PAD", "ActionVQVAE", "VQConfig", "VQOutput", "VectorQuantizer", "load", "save", "train_vqvae"]
