"""prepare_llm stage: the base causal LM as a plain local HF folder (models/llm)."""

import sys

from skellm.io import load_params
from skellm.llm.prepare import LLMSourceError, prepare_llm

if __name__ == "__main__":
    llm = load_params()["llm"]
    try:
        out = prepare_llm(llm.get("out", "models/llm"), llm.get("path"))
    except LLMSourceError as exc:
        sys.exit(f"prepare_llm: error: {exc}")
    print(f"prepare_llm: wrote {out}")
