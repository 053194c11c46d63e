"""Evaluation: label parsing from generated text, description metrics, the evaluate stage."""
