"""pretrain_encoder stage: GCN encoder trained against text -> models/encoder, metrics/encoder.json."""

from skellm.encoder.train import run_stage
from skellm.io import load_params

if __name__ == "__main__":
    m = run_stage(load_params())
    for key in ("accuracy", "zero_shot"):
        print(key, m[key])
