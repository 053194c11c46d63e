"""text_features stage: label prompts through the frozen text encoder -> data/text/features.*."""

from skellm.config import stage_config
from skellm.text.features import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
