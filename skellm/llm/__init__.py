"""The skeleton-aware language model: projector, prompt splicing, LoRA training, scoring, generation."""
