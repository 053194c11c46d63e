"""prepare_llm stage: the base causal LM as a plain local HF folder (models/llm)."""

import sys

from skellm.config import stage_config
from skellm.llm.prepare import LLMSourceError, run_stage

if __name__ == "__main__":
    try:
        run_stage(stage_config())
    except LLMSourceError as exc:
        sys.exit(f"prepare_llm: error: {exc}")
