"""lora_recognize stage: LoRA stage 2 (task from lora.order, recognize by default) on the frozen LLM."""

from skellm.config import stage_config
from skellm.llm.train import run_stage

if __name__ == "__main__":
    print(run_stage(2, stage_config()))
