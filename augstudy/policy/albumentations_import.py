"""Import a pipeline saved by albumentations 2.0.x (``A.save(pipeline, path, data_format="yaml"|"json")``).

The serialized form is ``{"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose",
"p": 1.0, "transforms": [{"__class_fullname__": "HorizontalFlip", "p": 0.5}, ...]}}``.  Each
transform maps to one augstudy op (PadIfNeeded + RandomCrop map to one RandomCrop with padding).
No albumentations import is needed: the file is plain data.

Each op converts its own albumentations counterparts (``Op.albumentations_names`` and
``Op.from_albumentations`` in :mod:`augstudy.policy.ops`); this module walks the Compose, merges
PadIfNeeded into the RandomCrop after it, and turns failures into one line.

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

from augstudy.errors import UserError
from augstudy.policy.ops import OPS
from augstudy.policy.ops.albumentations_forms import ImportContext, Unsupported
from augstudy.policy.ops.random_crop import padding_from_pad_if_needed
from augstudy.policy.spec import DEFAULT_IMAGE_SIZE, Policy

#: albumentations class name -> the augstudy op that imports it (each op's ``albumentations_names``)
CONVERTERS = {alb_name: op for op in OPS.values() for alb_name in op.albumentations_names}
SUPPORTED = ("PadIfNeeded (before RandomCrop)",) + tuple(CONVERTERS)


def _class_name(entry: dict) -> str:
    return str(entry.get("__class_fullname__", "?")).rsplit(".", 1)[-1]


def _convert(entry: dict, name: str, ctx: ImportContext) -> dict:
    op = CONVERTERS.get(name)
    if op is None:
        raise Unsupported(None)
    return {"op": op.name, **op.from_albumentations(entry, name, ctx), "p": float(entry.get("p", 0.5))}


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
                    raise Unsupported("PadIfNeeded not directly followed by RandomCrop")
                if float(entry.get("p", 1.0)) != 1.0:
                    raise Unsupported("PadIfNeeded with p < 1")
                pending_pad = padding_from_pad_if_needed(entry, current)
                continue
            ctx = ImportContext(side=current, where=where, pending_pad=pending_pad, notes=notes)
            op = _convert(entry, name_, ctx)
            pending_pad = None
        except Unsupported as exc:
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


__all__ = ["policy_from_albumentations", "SUPPORTED", "CONVERTERS"]
