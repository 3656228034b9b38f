"""View makers: AutoTCL's augmentation network, random training windows and the tsaug pipeline."""

from tscl.augment.network import AugmentationNetwork, AugmentedView, hard_concrete_sample, temporal_consistency
from tscl.augment.pipeline import TRANSFORMS, ViewPipeline, list_transforms, parse_augmentations
from tscl.augment.windows import random_windows

__all__ = [
    "TRANSFORMS",
    "AugmentationNetwork",
    "AugmentedView",
    "ViewPipeline",
    "hard_concrete_sample",
    "list_transforms",
    "parse_augmentations",
    "random_windows",
    "temporal_consistency",
]
