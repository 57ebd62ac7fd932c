"""Per-image reference backends (torchvision, kornia, albumentations) that apply a ``PolicyDraw``."""
