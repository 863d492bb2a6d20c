"""Marked synthetic defects and augmentations on real images: seeded generators that record what they did."""

from assetgrade.synth.base import (
    MARK_KEY,
    Generator,
    SyntheticImage,
    available_generators,
    generate,
    get_generator,
    read_mark,
    register_generator,
)

__all__ = [
    "MARK_KEY",
    "Generator",
    "SyntheticImage",
    "available_generators",
    "generate",
    "get_generator",
    "read_mark",
    "register_generator",
]
