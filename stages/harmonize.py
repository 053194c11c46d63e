"""harmonize stage: data/validated/takes.parquet -> data/harmonized/takes.parquet + layouts.json."""

from skellm.config import stage_config
from skellm.data.harmonize import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
