"""BLAS on one thread for the vision heads: :func:`assetgrade.blas.serial_blas`, re-exported where it began."""

from __future__ import annotations

from assetgrade.blas import serial_blas

__all__ = ["serial_blas"]
