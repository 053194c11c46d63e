"""baseline stage: hand-crafted features + simple classifier on data/split -> metrics/baseline.json."""

from skellm.config import stage_config
from skellm.eval.baseline import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
