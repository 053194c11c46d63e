"""GCN skeleton encoders (CTR-GCN, ST-GCN), the multi-granularity tokenizer and pre-training losses."""

from skellm.encoder.graph import spatial_partitions
from skellm.encoder.model import SkeletonEncoder
from skellm.encoder.tokens import SkeletonTokens

__all__ = ["SkeletonEncoder", "SkeletonTokens", "spatial_partitions"]
