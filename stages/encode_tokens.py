"""encode_tokens stage: frozen encoder tokens for train/test -> data/tokens/{split}.safetensors + .parquet."""

from skellm.encoder.infer import run_stage
from skellm.io import load_params

if __name__ == "__main__":
    run_stage(load_params())
