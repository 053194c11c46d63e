"""DVC stage: merge data/ingested/*.parquet, validate, write data/validated/* and metrics/data.json."""

import sys

from skellm.io import load_params
from skellm.schema import validate_stage

if __name__ == "__main__":
    sys.exit(validate_stage(load_params(), "data/ingested", "data/validated", "metrics/data.json"))
