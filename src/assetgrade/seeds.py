"""The seed range every seeded part accepts: numpy's and scikit-learn's seeding take 0..2**32-1.

A larger seed fails deep inside a fit, after the data is read; settings, options and API bodies
check against this one bound before any work starts.
"""

from __future__ import annotations

__all__ = ["SEED_MAX"]

SEED_MAX = 2**32 - 1
"""The largest seed numpy's and scikit-learn's seeding accept."""
