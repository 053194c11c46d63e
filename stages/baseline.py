"""baseline stage: hand-crafted features + simple classifier on data/split -> metrics/baseline.json."""

from skellm.eval.baseline import run_baseline
from skellm.io import load_params, write_json


def main() -> None:
    params = load_params()
    cfg = params.get("baseline", {})
    metrics = run_baseline("data/split", cfg.get("classifier", "logistic"), int(params.get("seed", 0)))
    for corpus, m in metrics.items():
        print(
            f"baseline {corpus}: accuracy {m['accuracy']:.3f} "
            f"(chance {m['chance']:.3f}, n_test {m['n_test']})"
        )
    write_json("metrics/baseline.json", metrics)


if __name__ == "__main__":
    main()
