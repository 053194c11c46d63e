"""DVC stage: data/harmonized/takes.parquet -> data/split/{train,test}.parquet + labels.json."""

from skellm.data.split import SplitConfig, split_file
from skellm.io import load_params

if __name__ == "__main__":
    cfg = SplitConfig.from_params(load_params())
    n_train, n_test = split_file("data/harmonized/takes.parquet", "data/split", cfg)
    print(f"split ({cfg.method}, seed {cfg.seed}): {n_train} train, {n_test} test")
