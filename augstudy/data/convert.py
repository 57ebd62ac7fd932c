"""Turning source pixels into augstudy's one form, ``uint8 [3, S, S]``, and recording every change.

Two paths, same resampling (bilinear with antialiasing, i.e. PIL's filter, which
torch's ``F.interpolate(..., antialias=True)`` reproduces):

- :func:`pil_to_chw` for decoded image files (one PIL image at a time, used by the
  parallel file decoder);
- :func:`resize_batch` for whole arrays (IDX, CIFAR): batched torch interpolation,
  much faster than per-image PIL for 70,000 images.

A :class:`ConversionLog` counts what was done ("replicated 1 channel to 3
(grayscale): 70000 images") so the dataset can say exactly how its pixels differ
from the files on disk.
"""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np

GRAYSCALE = "replicated 1 channel to 3 (grayscale)"
CMYK = "converted CMYK to RGB"
PALETTE = "converted palette (P) to RGB"
ALPHA = "dropped the alpha channel"
OTHER_MODE = "converted mode {mode} to RGB"
CENTER_CROP = "center-cropped {w}x{h} to a square {s}x{s}"
RESIZE = "resized with antialiasing from {w}x{h} to {size}x{size}"

#: the PIL modes treated as single-channel at source
_SINGLE_CHANNEL_MODES = {"L", "1", "I", "I;16", "I;16B", "I;16L", "F", "LA"}


class ConversionLog:
    """Thread-safe counts of conversions and of grayscale images.

    ``add(message, n)`` counts ``n`` images for one conversion; ``grayscale``
    counts images that were single-channel or had R == G == B at source.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.grayscale = 0
        self.total = 0
        self._lock = threading.Lock()

    def add(self, message: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self.counts[message] += n

    def merge(self, counts: Counter, grayscale: int, total: int) -> None:
        """Add a worker's local tallies (cheaper than locking per image)."""
        with self._lock:
            self.counts.update(counts)
            self.grayscale += grayscale
            self.total += total

    def lines(self) -> list[str]:
        """``["<conversion>: <n> images", ...]`` in first-seen order."""
        return [f"{msg}: {n} image{'s' if n != 1 else ''}" for msg, n in self.counts.items()]

    @property
    def grayscale_fraction(self) -> float:
        return self.grayscale / self.total if self.total else 0.0


def pil_to_chw(image, size: int, counts: Counter,
               source_size: tuple[int, int] | None = None) -> tuple[np.ndarray, bool]:
    """Convert one PIL image to ``uint8 [3, size, size]`` (C, H, W), counting conversions.

    Non-square images are center-cropped to a square first (no distortion), then
    resized with PIL's antialiased bilinear filter.  Returns ``(array, was_grayscale)``
    where ``was_grayscale`` means single-channel at source or R == G == B everywhere.
    ``source_size`` (W, H) names the size on disk when the decoder already shrank the
    image (JPEG draft mode), so the log reports the true original size.
    """
    from PIL import Image

    mode = image.mode
    single_channel = mode in _SINGLE_CHANNEL_MODES
    if mode == "RGB":
        pass
    elif single_channel:
        if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            # 16/32-bit grayscale: scale to 8 bits by the image's own range rather than clipping
            arr = np.asarray(image, dtype=np.float64)
            hi = arr.max() if arr.size else 1.0
            arr = np.clip(arr * (255.0 / hi if hi > 255 else 1.0), 0, 255).astype(np.uint8)
            image = Image.fromarray(arr, mode="L")
        if image.mode == "LA":
            counts[ALPHA] += 1
        image = image.convert("RGB")
        counts[GRAYSCALE] += 1
    elif mode == "CMYK":
        image = image.convert("RGB")
        counts[CMYK] += 1
    elif mode in ("P", "PA"):
        has_alpha = "transparency" in image.info or mode == "PA"
        image = image.convert("RGBA" if has_alpha else "RGB").convert("RGB")
        counts[PALETTE] += 1
    elif mode in ("RGBA", "RGBa"):
        image = image.convert("RGB")
        counts[ALPHA] += 1
    else:  # YCbCr, LAB, HSV, ...
        image = image.convert("RGB")
        counts[OTHER_MODE.format(mode=mode)] += 1

    w0, h0 = source_size or image.size
    w, h = image.size
    if w != h:
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        image = image.crop((left, top, left + s, top + s))
        counts[CENTER_CROP.format(w=w0, h=h0, s=min(w0, h0))] += 1
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    s0 = min(w0, h0)
    if s0 != size:  # counted against the size on disk, even when JPEG draft did part of the shrinking
        counts[RESIZE.format(w=s0, h=s0, size=size)] += 1

    hwc = np.asarray(image, dtype=np.uint8)
    if not single_channel:
        # a 3-channel image whose channels are all equal is grayscale in content
        single_channel = bool((hwc[..., 0] == hwc[..., 1]).all() and (hwc[..., 1] == hwc[..., 2]).all())
    return hwc.transpose(2, 0, 1), single_channel


def resize_batch(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``uint8 [B, C, H, W]`` to ``uint8 [B, C, size, size]`` with antialiased bilinear
    interpolation (torch, batched; matches PIL's filter).  Returns the input when already sized."""
    if images.shape[-2:] == (size, size):
        return images
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.array(images, dtype=np.float32))  # a copy: the source may be read-only
    y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return y.round_().clamp_(0, 255).to(torch.uint8).numpy()


def is_gray_batch(images_chw: np.ndarray) -> np.ndarray:
    """``bool [B]``: True where an image ``uint8 [B, 3, H, W]`` has R == G == B everywhere."""
    flat = images_chw.reshape(images_chw.shape[0], 3, -1)
    return (flat[:, 0] == flat[:, 1]).all(axis=1) & (flat[:, 1] == flat[:, 2]).all(axis=1)


__all__ = ["ConversionLog", "pil_to_chw", "resize_batch", "is_gray_batch",
           "GRAYSCALE", "CMYK", "PALETTE", "ALPHA", "RESIZE", "CENTER_CROP"]
