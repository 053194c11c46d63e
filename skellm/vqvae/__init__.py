"""LLM-AR's tokenizer: an action VQ-VAE with a Euclidean or hyperbolic codebook and language-like
(Zipf, context) regularisers, turning skeleton sequences into discrete "action sentences"."""
