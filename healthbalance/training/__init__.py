"""Subgroup-aware meta-estimators and models."""

from healthbalance.training._group_dro_logistic import GroupDROLogisticRegression

__all__ = ["GroupDROLogisticRegression"]
