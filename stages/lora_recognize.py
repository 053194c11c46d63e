"""lora_recognize stage: LoRA stage 2 (task from lora.order, recognize by default) on the frozen LLM."""

from skellm.io import load_params
from skellm.llm.train import run_stage

if __name__ == "__main__":
    print(run_stage(2, load_params()))
