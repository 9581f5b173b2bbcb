"""Brute-force helpers shared by the verification tests (as fixtures that return functions)."""

from __future__ import annotations

import numpy as np
import pytest


def _brute_rates(s, y, t):
    """(FAR, TAR) accepting score >= t, by counting."""
    g = [x for x, same in zip(s, y) if same]
    im = [x for x, same in zip(s, y) if not same]
    return sum(x >= t for x in im) / len(im), sum(x >= t for x in g) / len(g)


def _brute_auc(s, y):
    g = [x for x, same in zip(s, y) if same]
    im = [x for x, same in zip(s, y) if not same]
    tot = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in g for b in im)
    return tot / (len(g) * len(im))


def _random_set(seed, n_gen=30, n_imp=50, ties=False):
    rng = np.random.default_rng(seed)
    g = rng.normal(0.6, 0.15, n_gen)
    im = rng.normal(0.2, 0.15, n_imp)
    s = np.concatenate([g, im])
    if ties:
        s = np.round(s, 1)
    y = np.concatenate([np.ones(n_gen, bool), np.zeros(n_imp, bool)])
    return s, y


def _identity_pairs(n_id=12, seed=0):
    """Each identity: 3 genuine pairs with its own score; impostor pairs between neighbours."""
    rng = np.random.default_rng(seed)
    s, y, a, b = [], [], [], []
    for k in range(n_id):
        sc = 0.5 + 0.4 * rng.random()
        for _ in range(3):
            s.append(sc), y.append(True), a.append(k), b.append(k)
        for m in range(n_id):
            if m != k:
                s.append(0.4 * rng.random()), y.append(False), a.append(k), b.append(m)
    return np.array(s), np.array(y), np.array(a), np.array(b)


@pytest.fixture
def brute_rates():
    """``brute_rates(scores, same, t) -> (FAR, TAR)`` accepting ``score >= t``, by counting."""
    return _brute_rates


@pytest.fixture
def brute_auc():
    """``brute_auc(scores, same)``: the fraction of genuine/impostor orderings, ties one half."""
    return _brute_auc


@pytest.fixture
def random_set():
    """``random_set(seed, n_gen=30, n_imp=50, ties=False) -> (scores, same)``."""
    return _random_set


@pytest.fixture
def identity_pairs():
    """``identity_pairs(n_id=12, seed=0) -> (scores, same, id1, id2)``."""
    return _identity_pairs
