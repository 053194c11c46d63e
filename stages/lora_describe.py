"""lora_describe stage: LoRA stage 1 (task from lora.order, describe by default) on the frozen LLM."""

from skellm.io import load_params
from skellm.llm.train import run_stage

if __name__ == "__main__":
    print(run_stage(1, load_params()))
