"""Small shared helpers."""

from healthbalance.utils._bootstrap import (
    StrataLayout,
    bootstrap_chunks,
    chunk_sizes,
    percentile_interval,
    stratified_bootstrap_indices,
)

__all__ = [
    "StrataLayout",
    "bootstrap_chunks",
    "chunk_sizes",
    "percentile_interval",
    "stratified_bootstrap_indices",
]
