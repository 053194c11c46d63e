"""ingest stage: one corpus (params data.corpora.CORPUS) -> data/ingested/CORPUS.parquet + quarantine."""

import sys

from skellm.config import stage_config
from skellm.data.ingest import run_stage
from skellm.readers.base import ReadError

if __name__ == "__main__":
    try:
        run_stage(stage_config(), sys.argv[1])
    except (ReadError, OSError, ValueError) as exc:  # bad corpus config or label source: one line
        sys.exit(f"ingest {sys.argv[1]}: error: {exc}")
