"""Group-aware resamplers."""

__all__ = []
