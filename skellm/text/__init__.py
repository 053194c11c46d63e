"""The frozen text encoder: label prompts to features (all-MiniLM-L6-v2 or open_clip)."""
