"""Import a pipeline saved by albumentations 2.0.x (``A.save(pipeline, path, data_format="yaml"|"json")``).

The serialized form is ``{"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose",
"p": 1.0, "transforms": [{"__class_fullname__": "HorizontalFlip", "p": 0.5}, ...]}}``.  Each
transform maps to one augstudy op (PadIfNeeded + RandomCrop map to one RandomCrop with padding).
No albumentations import is needed: the file is plain data.

Mapping decisions (also listed in ``Policy.notes`` when an approximation was made):

- ColorJitter: albumentations stores explicit ranges (brightness ``(0.8, 1.2)``, hue ``(-0.5, 0.5)``,
  default p 0.5).  A range symmetric about 1 (``[max(0, 1-x), 1+x]``) or, for hue, about 0 becomes
  torchvision's shorthand ``x``; any other range is kept exactly as ``[low, high]`` (augstudy
  supports explicit ranges).  albumentations computes hue with OpenCV's HSV; augstudy uses
  torchvision's, so hue results differ slightly (noted).
- Fill values are pixel values 0..255 in albumentations (``max_pixel_value`` for Normalize); augstudy
  uses fractions of full scale, so they are divided by 255.
- ``Compose(p)`` becomes ``Policy.p`` (the whole pipeline applies to an image with probability p).
- CoarseDropout with one hole becomes RandomErasing with the equivalent area/aspect ranges (noted);
  GaussianBlur with a kernel-size range uses its largest kernel (noted).
- A transform with no counterpart (or an option augstudy cannot express, e.g. shear) fails with one
  line naming it and its position.
"""

from __future__ import annotations

import math
from typing import Any

from augstudy.errors import UserError
from augstudy.policy.spec import DEFAULT_IMAGE_SIZE, Policy

# OpenCV border modes as albumentations stores them
BORDER_CONSTANT, BORDER_REFLECT_101 = 0, 4
SUPPORTED = ("HorizontalFlip", "VerticalFlip", "PadIfNeeded (before RandomCrop)", "RandomCrop", "RandomResizedCrop",
             "ColorJitter", "ToGray", "CoarseDropout", "Erasing", "Rotate", "Affine", "GaussianBlur", "Normalize")


class _Unsupported(Exception):
    pass


def _class_name(entry: dict) -> str:
    return str(entry.get("__class_fullname__", "?")).rsplit(".", 1)[-1]


def _pair(value: Any) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [float(value[0]), float(value[-1])]
    return [float(value), float(value)]


def _fill(value: Any, what: str) -> float:
    if isinstance(value, (list, tuple)):
        if len(set(float(v) for v in value)) != 1:
            raise _Unsupported(f"a per-channel {what} {list(value)} (augstudy uses one value for all channels)")
        value = value[0]
    if not isinstance(value, (int, float)):
        raise _Unsupported(f"{what}={value!r} (only numeric fills are supported)")
    return float(value) / 255.0


def _factor(value: Any) -> float | list[float]:
    """albumentations brightness/contrast/saturation range -> torchvision x when symmetric about 1."""
    low, high = _pair(value)
    x = high - 1.0
    if x >= 0 and math.isclose(low, max(0.0, 1.0 - x), abs_tol=1e-9):
        return round(x, 12)
    return [low, high]


def _symmetric(value: Any) -> float | list[float]:
    low, high = _pair(value)
    if math.isclose(low, -high, abs_tol=1e-9) and high >= 0:
        return high
    return [low, high]


def _xy(value: Any, name: str) -> tuple[list[float], list[float]]:
    if isinstance(value, dict):
        return _pair(value.get("x", 0.0)), _pair(value.get("y", 0.0))
    pair = _pair(value)
    return pair, pair


def _border_fill(entry: dict) -> float:
    if entry.get("border_mode", BORDER_CONSTANT) != BORDER_CONSTANT:
        raise _Unsupported(f"border_mode={entry.get('border_mode')} (only constant borders, 0, are supported)")
    return _fill(entry.get("fill", 0), "fill")


def _convert(entry: dict, name: str, side: int, pending_pad: dict | None, notes: list[str], where: str) -> dict:
    p = float(entry.get("p", 0.5))
    if name in ("HorizontalFlip", "VerticalFlip"):
        return {"op": name, "p": p}
    if name == "RandomCrop":
        if entry.get("height") != entry.get("width"):
            raise _Unsupported(f"a non-square crop {entry.get('height')}x{entry.get('width')}")
        op = {"op": "RandomCrop", "size": int(entry["height"]), "p": p}
        if pending_pad:
            op.update(pending_pad)
        if entry.get("pad_if_needed"):
            raise _Unsupported("pad_if_needed=True (use PadIfNeeded before RandomCrop)")
        return op
    if name == "RandomResizedCrop":
        size = entry.get("size", [entry.get("height"), entry.get("width")])
        size = _pair(size)
        if size[0] != size[1]:
            raise _Unsupported(f"a non-square size {size}")
        return {"op": "RandomResizedCrop", "size": int(size[0]), "scale": _pair(entry.get("scale", (0.08, 1.0))),
                "ratio": _pair(entry.get("ratio", (0.75, 4 / 3))), "p": p}
    if name == "ColorJitter":
        notes.append(f"{where}: albumentations ColorJitter uses OpenCV's HSV for hue; augstudy uses torchvision's")
        return {"op": "ColorJitter", "brightness": _factor(entry.get("brightness", (0.8, 1.2))),
                "contrast": _factor(entry.get("contrast", (0.8, 1.2))),
                "saturation": _factor(entry.get("saturation", (0.8, 1.2))),
                "hue": _symmetric(entry.get("hue", (-0.5, 0.5))), "p": p}
    if name in ("ToGray", "RandomGrayscale"):
        method = entry.get("method", "weighted_average")
        if method != "weighted_average":
            raise _Unsupported(f"method={method!r} (only weighted_average luma is supported)")
        if int(entry.get("num_output_channels", 3)) != 3:
            raise _Unsupported("num_output_channels != 3")
        return {"op": "RandomGrayscale", "p": p}
    if name == "Erasing":
        return {"op": "RandomErasing", "scale": _pair(entry.get("scale", (0.02, 0.33))),
                "ratio": _pair(entry.get("ratio", (0.3, 3.3))), "value": _fill(entry.get("fill", 0), "fill"), "p": p}
    if name == "CoarseDropout":
        holes = _pair(entry.get("num_holes_range", (1, 1)))
        if holes != [1.0, 1.0]:
            raise _Unsupported(f"num_holes_range={holes} (only a single hole, [1, 1], maps to RandomErasing)")
        hh, ww = _pair(entry.get("hole_height_range", (0.1, 0.2))), _pair(entry.get("hole_width_range", (0.1, 0.2)))
        if isinstance(entry.get("hole_height_range", [0.1])[0], int) and hh[1] >= 1:  # pixels
            hh = [v / side for v in hh]
        if isinstance(entry.get("hole_width_range", [0.1])[0], int) and ww[1] >= 1:
            ww = [v / side for v in ww]
        notes.append(f"{where}: CoarseDropout approximated by RandomErasing with area {hh[0] * ww[0]:.4g}.."
                     f"{hh[1] * ww[1]:.4g} and aspect h/w {hh[0] / ww[1]:.3g}..{hh[1] / ww[0]:.3g}")
        return {"op": "RandomErasing", "scale": [hh[0] * ww[0], hh[1] * ww[1]], "ratio": [hh[0] / ww[1], hh[1] / ww[0]],
                "value": _fill(entry.get("fill", 0), "fill"), "p": p}
    if name == "Rotate":
        if entry.get("crop_border"):
            raise _Unsupported("crop_border=True")
        return {"op": "Rotation", "degrees": _symmetric(entry.get("limit", (-90, 90))), "fill": _border_fill(entry),
                "p": p}
    if name == "Affine":
        shear_x, shear_y = _xy(entry.get("shear", 0.0), "shear")
        if any(v != 0 for v in shear_x + shear_y):
            raise _Unsupported("a non-zero shear (augstudy's Affine has rotation, translation and scale only)")
        if entry.get("translate_px") is not None:
            tx, ty = _xy(entry["translate_px"], "translate_px")
            tx, ty = [v / side for v in tx], [v / side for v in ty]
        else:
            tx, ty = _xy(entry.get("translate_percent") or 0.0, "translate_percent")
        sx, sy = _xy(entry.get("scale", 1.0), "scale")
        if sx != sy:
            raise _Unsupported(f"different x/y scale ranges {sx} and {sy} (augstudy scales both axes equally)")
        translate = [max(abs(tx[0]), abs(tx[1])), max(abs(ty[0]), abs(ty[1]))]
        if not (math.isclose(tx[0], -tx[1]) and math.isclose(ty[0], -ty[1])):
            notes.append(f"{where}: translate ranges x {tx}, y {ty} widened to the symmetric "
                         f"|dx| <= {translate[0]:g}, |dy| <= {translate[1]:g} (fractions of the side)")
        return {"op": "Affine", "degrees": _symmetric(entry.get("rotate", 0.0)), "translate": translate,
                "scale": sx, "fill": _border_fill(entry), "p": p}
    if name == "GaussianBlur":
        low, high = (int(v) for v in _pair(entry.get("blur_limit", 0)))
        sigma = _pair(entry.get("sigma_limit", (0.5, 3.0)))
        if high == 0:  # albumentations derives the kernel from sigma
            high = int(2 * math.ceil(3 * sigma[1]) + 1)
        high = high if high % 2 else high + 1
        if low not in (0, high):
            notes.append(f"{where}: GaussianBlur kernel sizes {low}..{high} -> fixed kernel_size {high}")
        return {"op": "GaussianBlur", "kernel_size": min(high, 63), "sigma": sigma, "p": p}
    if name == "Normalize":
        if entry.get("normalization", "standard") != "standard":
            raise _Unsupported(f"normalization={entry.get('normalization')!r} (only 'standard' is supported)")
        scale = float(entry.get("max_pixel_value", 255.0)) / 255.0  # ours: fractions of full scale
        mean = entry.get("mean", (0.485, 0.456, 0.406))
        std = entry.get("std", (0.229, 0.224, 0.225))
        mean = [float(m) * scale for m in (mean if isinstance(mean, (list, tuple)) else [mean] * 3)]
        std = [float(s) * scale for s in (std if isinstance(std, (list, tuple)) else [std] * 3)]
        return {"op": "Normalize", "mean": mean, "std": std, "p": p}
    raise _Unsupported(None)


def _pad_from(entry: dict, side: int) -> dict:
    """PadIfNeeded(min_height, min_width, border_mode, fill, position center) -> RandomCrop padding."""
    min_h, min_w = entry.get("min_height"), entry.get("min_width")
    if min_h is None or min_h != min_w or entry.get("position", "center") != "center":
        raise _Unsupported("PadIfNeeded with unequal or missing min_height/min_width or a non-centre position")
    extra = max(0, int(min_h) - side)
    if extra % 2:
        raise _Unsupported(f"PadIfNeeded to {min_h} from {side} (an odd total padding cannot be split evenly)")
    mode = entry.get("border_mode", BORDER_CONSTANT)
    if mode == BORDER_CONSTANT:
        return {"padding": extra // 2, "padding_mode": "constant", "fill": _fill(entry.get("fill", 0), "fill")}
    if mode == BORDER_REFLECT_101:
        return {"padding": extra // 2, "padding_mode": "reflect"}
    raise _Unsupported(f"PadIfNeeded border_mode={mode} (supported: 0 constant, 4 reflect_101)")


def policy_from_albumentations(data: dict, source: str = "<albumentations>", image_size: int | None = None,
                               name: str | None = None) -> Policy:
    """Convert the dict written by ``albumentations.save`` to a validated :class:`Policy`."""
    side = image_size or DEFAULT_IMAGE_SIZE
    compose = data.get("transform", data)
    if not isinstance(compose, dict) or _class_name(compose) not in ("Compose", "Sequential"):
        raise UserError(f"{source}: expected an albumentations Compose at 'transform', got "
                        f"{_class_name(compose) if isinstance(compose, dict) else type(compose).__name__}")
    if compose.get("bbox_params") or compose.get("keypoint_params"):
        raise UserError(f"{source}: bbox/keypoint params are not supported (augstudy augments images only)")
    entries = compose.get("transforms") or []
    ops: list[dict] = []
    notes: list[str] = []
    pending_pad: dict | None = None
    current = side
    for position, entry in enumerate(entries, start=1):
        name_ = _class_name(entry) if isinstance(entry, dict) else "?"
        where = f"{source}: transform {position} ({name_})"
        try:
            if name_ == "PadIfNeeded":
                nxt = entries[position] if position < len(entries) else None
                if not (isinstance(nxt, dict) and _class_name(nxt) == "RandomCrop"):
                    raise _Unsupported("PadIfNeeded not directly followed by RandomCrop")
                if float(entry.get("p", 1.0)) != 1.0:
                    raise _Unsupported("PadIfNeeded with p < 1")
                pending_pad = _pad_from(entry, current)
                continue
            op = _convert(entry, name_, current, pending_pad, notes, where)
            pending_pad = None
        except _Unsupported as exc:
            if exc.args[0] is None:
                raise UserError(f"{where}: no augstudy counterpart for albumentations {name_!r}; "
                                f"supported: {', '.join(SUPPORTED)}") from None
            raise UserError(f"{where}: unsupported {exc.args[0]}") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UserError(f"{where}: unexpected serialized form ({type(exc).__name__}: {exc})") from None
        if op["op"] in ("RandomCrop", "RandomResizedCrop"):
            current = op["size"]
        ops.append(op)
    policy_data = {"name": name or "albumentations", "ops": ops, "p": float(compose.get("p", 1.0))}
    policy = Policy.from_dict(policy_data, source=source, image_size=side)
    policy.source_notes = [f"imported from albumentations {data.get('__version__', '?')} ({source})"] + notes
    return policy


__all__ = ["policy_from_albumentations", "SUPPORTED"]
