"""vqvae_tokens stage: LLM-AR's action VQ-VAE -> models/vqvae, data/tokens/vqvae_{train,test}.safetensors."""

from skellm.config import stage_config
from skellm.vqvae.tokens import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
