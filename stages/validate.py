"""validate stage: merge data/ingested/*.parquet, validate, write data/validated/* and metrics/data.json."""

import sys

from skellm.config import stage_config
from skellm.data.validate import validate_stage

if __name__ == "__main__":
    sys.exit(validate_stage(stage_config()))
