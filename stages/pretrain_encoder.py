"""pretrain_encoder stage: GCN encoder trained against text -> models/encoder, metrics/encoder.json."""

from skellm.io import load_params
from skellm.train_encoder import run_stage

if __name__ == "__main__":
    m = run_stage(load_params())
    for key in ("accuracy", "zero_shot"):
        print(key, m[key])
