"""evaluate stage: recognition (generation, label scoring, baselines) and description metrics."""

from skellm.eval.evaluate import evaluate
from skellm.io import load_params

if __name__ == "__main__":
    p = load_params()
    metrics = evaluate(
        tokens_dir="data/tokens",
        labels_json="data/split/labels.json",
        llm_dir=p["llm"].get("out", "models/llm"),
        trained_dir="models/lora_recognize",
        eval_params=p["eval"],
        lora=p["lora"],
        metrics_path="metrics/llm.json",
        plots_dir="metrics/plots",
        predictions_path="data/eval/predictions.parquet",
    )
    for mode, res in metrics["recognition"].items():
        print(
            f"{mode:22s} accuracy {res['overall']['accuracy']:.3f}  error {res['overall']['error_rate']:.3f}"
        )
