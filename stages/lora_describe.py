"""lora_describe stage: LoRA stage 1 (task from lora.order, describe by default) on the frozen LLM."""

from skellm.config import stage_config
from skellm.llm.train import run_stage

if __name__ == "__main__":
    print(run_stage(1, stage_config()))
