"""DVC stage: merge data/ingested/*.parquet, validate, write data/validated/* and metrics/data.json."""

import sys

from skellm.data.validate import validate_stage
from skellm.io import load_params

if __name__ == "__main__":
    sys.exit(validate_stage(load_params(), "data/ingested", "data/validated", "metrics/data.json"))
