"""The reference population of the representation check (``--reference-population``).

Either ``census-us`` (US Census 2020 race/ethnicity shares, for the synthetic cohort's
and MIMIC-IV's five race groups) or a CSV file with one row per group and the columns
``attribute``, ``group`` and ``share``: proportions in [0, 1] summing to 1 for each
attribute.
"""

from pathlib import Path

import numpy as np
import pandas as pd

CENSUS_US = "census-us"
# US Census 2020 shares of the synthetic cohort's (and MIMIC-IV's) race groups.
US_CENSUS_2020 = {
    "race_ethnicity": {
        "White": 0.578,
        "Black": 0.121,
        "Hispanic": 0.187,
        "Asian": 0.059,
        "Other/Unknown": 0.055,
    }
}
COLUMNS = ["attribute", "group", "share"]
TOLERANCE = 1e-6


def reference_population(source, attributes):
    """Return ``{attribute: {group: share}}`` from ``census-us`` or a CSV file.

    Parameters
    ----------
    source : str or Path
        ``"census-us"`` or the path of a CSV file with columns ``attribute``,
        ``group`` and ``share``.
    attributes : list of str
        The sensitive attributes of the data; every attribute of the reference must
        be one of them.

    Returns
    -------
    reference : dict

    Examples
    --------
    >>> from healthbalance.benchmark._reference import reference_population
    >>> reference_population("census-us", ["race_ethnicity", "sex"])["race_ethnicity"][
    ...     "Black"]
    0.121
    """
    if str(source) == CENSUS_US:
        reference = US_CENSUS_2020
    else:
        reference = _read_table(Path(source))
    _check_attributes(reference, source, attributes)
    return reference


def _read_table(path):
    if not path.is_file():
        raise ValueError(
            f"--reference-population {path}: no such file; give a CSV file with "
            f"columns {', '.join(COLUMNS)}, or {CENSUS_US}."
        )
    try:
        table = pd.read_csv(path, dtype={"attribute": str, "group": str})
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing or table.empty:
        has = ", ".join(map(str, table.columns)) or "none"
        raise ValueError(
            f"--reference-population {path} has no rows or lacks the columns "
            f"{', '.join(missing) or '-'} (its columns: {has}): give one row per "
            f"group with columns {', '.join(COLUMNS)}."
        )
    share = pd.to_numeric(table["share"], errors="coerce")
    if share.isna().any():
        raise ValueError(
            f"--reference-population {path}: the share column must hold numbers, "
            "without blanks (a proportion in [0, 1] per group)."
        )
    table = table.assign(share=share.astype(float))
    _check_shares(table, path)
    return {
        str(attribute): dict(zip(part["group"], part["share"], strict=True))
        for attribute, part in table.groupby("attribute", sort=False)
    }


def _check_shares(table, path):
    duplicated = table[table.duplicated(["attribute", "group"])]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ValueError(
            f"--reference-population {path} lists group {first['group']!r} of "
            f"{first['attribute']!r} more than once: keep one row per group."
        )
    sums = table.groupby("attribute", sort=False)["share"].sum()
    if (table["share"] > 1).any() and np.isclose(sums, 100, atol=0.5).any():
        raise ValueError(
            f"--reference-population {path} holds percentages (shares sum to 100): "
            "divide the share column by 100."
        )
    if not table["share"].between(0, 1).all():
        raise ValueError(
            f"--reference-population {path}: every share must be a proportion in "
            "[0, 1]."
        )
    off = sums[(sums - 1).abs() > TOLERANCE]
    if not off.empty:
        attribute, total = off.index[0], off.iloc[0]
        raise ValueError(
            f"--reference-population {path}: the shares of {attribute!r} sum to "
            f"{total:.6g}, not 1 (within {TOLERANCE:g}); correct them or add a row "
            "for the remaining groups."
        )


def _check_attributes(reference, source, attributes):
    unknown = [a for a in reference if a not in attributes]
    if not unknown:
        return
    hint = (
        f" ({CENSUS_US} covers race_ethnicity only: name the race column "
        "race_ethnicity, or give a CSV file)"
        if str(source) == CENSUS_US
        else ""
    )
    raise ValueError(
        f"--reference-population {source}: {', '.join(unknown)} not a sensitive "
        f"attribute of the data, which are {', '.join(attributes)}{hint}."
    )


def check_groups(reference, source, groups):
    """Refuse reference groups that the data does not have (a misspelt name).

    ``groups`` maps each sensitive attribute to the group labels of the data.
    """
    for attribute, shares in reference.items():
        unknown = [g for g in shares if g not in groups.get(attribute, ())]
        if unknown:
            raise ValueError(
                f"--reference-population {source}: {attribute} has no group "
                f"{', '.join(map(repr, unknown))} in the data; its groups are "
                f"{', '.join(map(repr, sorted(groups[attribute])))}. Correct the "
                "names (they must match the data exactly)."
            )
