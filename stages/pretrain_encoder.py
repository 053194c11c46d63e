"""pretrain_encoder stage: GCN encoder trained against text -> models/encoder, metrics/encoder.json."""

from skellm.config import stage_config
from skellm.encoder.train import run_stage

if __name__ == "__main__":
    m = run_stage(stage_config())
    for key in ("accuracy", "zero_shot"):
        print(key, m[key])
