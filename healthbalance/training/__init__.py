"""Subgroup-aware meta-estimators and models."""

__all__ = []
