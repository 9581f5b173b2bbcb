"""Numbers that JSON can hold: the one conversion used by every ``to_dict`` and JSON writer."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["json_safe"]


def json_safe(obj):
    """``obj`` with NaN and infinities as ``None`` and numpy values as Python ones, recursively.

    Dict keys become strings, tuples and arrays become lists; anything else (str, bool, None,
    Python ints) is returned as it is. The result passes ``json.dumps(..., allow_nan=False)``
    whenever its leaves are numbers, strings, booleans or None.

    Examples
    --------
    >>> json_safe({"a": float("nan"), 1: (np.float32(0.5), np.int64(3))})
    {'a': None, '1': [0.5, 3]}
    """
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
