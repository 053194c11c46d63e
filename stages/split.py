"""split stage: data/harmonized/takes.parquet -> data/split/{train,test}.parquet + labels.json."""

from skellm.config import stage_config
from skellm.data.split import run_stage

if __name__ == "__main__":
    run_stage(stage_config())
