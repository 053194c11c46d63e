"""synth stage: the synthetic emotional-mocap corpora (params seed, data.source, data.synth) -> data/raw."""

from skellm.config import stage_config
from skellm.synth.corpora import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
