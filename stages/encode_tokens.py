"""encode_tokens stage: frozen encoder tokens for train/test -> data/tokens/{split}.safetensors + .parquet."""

from skellm.config import stage_config
from skellm.encoder.infer import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
