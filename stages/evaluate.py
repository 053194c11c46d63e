"""evaluate stage: recognition (generation, label scoring, baselines) and description metrics."""

from skellm.config import stage_config
from skellm.eval.evaluate import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
