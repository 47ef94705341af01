"""Small shared helpers."""

from healthbalance.utils._bootstrap import (
    StrataLayout,
    bootstrap_chunks,
    chunk_sizes,
    percentile_interval,
    stratified_bootstrap_indices,
)
from healthbalance.utils._validation import check_sample_weight

__all__ = [
    "StrataLayout",
    "bootstrap_chunks",
    "check_sample_weight",
    "chunk_sizes",
    "percentile_interval",
    "stratified_bootstrap_indices",
]
