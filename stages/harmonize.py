"""DVC stage: data/validated/takes.parquet -> data/harmonized/takes.parquet + layouts.json."""

from skellm.data.harmonize import HarmonizeConfig, harmonize_file
from skellm.io import load_params

if __name__ == "__main__":
    cfg = HarmonizeConfig.from_params(load_params().get("harmonize"))
    n = harmonize_file(
        "data/validated/takes.parquet", "data/harmonized/takes.parquet", "data/harmonized/layouts.json", cfg
    )
    print(f"harmonize: {n} takes, {cfg.joints} joints, {cfg.frames} frames at {cfg.target_fps} fps")
