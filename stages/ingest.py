"""DVC stage: ingest one corpus (params data.corpora.CORPUS) into data/ingested/CORPUS.parquet."""

import sys

from skellm.data.ingest import ingest_corpus
from skellm.io import load_params
from skellm.readers.base import ReadError


def main(corpus: str) -> int:
    data = load_params()["data"]
    if corpus not in data["corpora"]:
        print(f"ingest: unknown corpus {corpus!r}; params data.corpora has {sorted(data['corpora'])}")
        return 2
    out = f"data/ingested/{corpus}.parquet"
    try:
        result = ingest_corpus(corpus, data["corpora"][corpus], out, workers=data.get("workers", 1))
    except (ReadError, OSError, ValueError) as exc:  # bad config or label source: one line, no traceback
        print(f"ingest {corpus}: error: {exc}", file=sys.stderr)
        return 1
    print(result.summary(corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
