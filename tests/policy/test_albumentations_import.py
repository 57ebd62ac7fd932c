"""Import of pipelines written by albumentations itself (``A.save``, yaml and json)."""

from __future__ import annotations

import albumentations as A  # a project dependency: a missing install fails here, loudly
import pytest
import torch

from augstudy.errors import UserError
from augstudy.policy import Policy, load_policy, sample_draw
from augstudy.policy.engine import apply_draw_float


def _save(tmp_path, pipeline, fmt):
    path = tmp_path / f"pipeline.{fmt}"
    A.save(pipeline, str(path), data_format=fmt)
    return path


FULL = [
    A.PadIfNeeded(min_height=72, min_width=72, border_mode=0, fill=0),
    A.RandomCrop(height=64, width=64, p=1.0),
    A.HorizontalFlip(p=0.5),
    A.VerticalFlip(p=0.2),
    A.ColorJitter(brightness=0.2, contrast=0.3, saturation=(0.5, 1.5), hue=0.05, p=1.0),
    A.ToGray(p=0.1),
    A.Erasing(scale=(0.02, 0.2), ratio=(0.5, 2.0), fill=255, p=0.3),
    A.Rotate(limit=15, p=0.4),
    A.Affine(rotate=(-10, 10), translate_percent=(-0.1, 0.1), scale=(0.9, 1.1), p=0.5),
    A.GaussianBlur(blur_limit=(5, 5), sigma_limit=(0.1, 1.5), p=0.25),
    A.Normalize(),
]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_full_pipeline_maps_op_by_op(tmp_path, fmt):
    policy = load_policy(_save(tmp_path, A.Compose(FULL, p=1.0), fmt))
    got = [(s.op, s.params, s.p) for s in policy.ops]
    assert got == [
        ("RandomCrop", {"size": 64, "padding": 4, "padding_mode": "constant", "fill": 0.0}, 1.0),
        ("HorizontalFlip", {}, 0.5),
        ("VerticalFlip", {}, 0.2),
        ("ColorJitter", {"brightness": 0.2, "contrast": 0.3, "saturation": 0.5, "hue": 0.05}, 1.0),
        ("RandomGrayscale", {}, 0.1),
        ("RandomErasing", {"scale": [0.02, 0.2], "ratio": [0.5, 2.0], "value": 1.0, "mode": "constant"}, 0.3),
        ("Rotation", {"degrees": 15.0, "fill": 0.0}, 0.4),
        ("Affine", {"degrees": 10.0, "translate": [0.1, 0.1], "scale": [0.9, 1.1], "fill": 0.0}, 0.5),
        ("GaussianBlur", {"kernel_size": 5, "sigma": [0.1, 1.5]}, 0.25),
        ("Normalize", {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, 1.0),
    ]
    assert policy.p == 1.0 and policy.name == "pipeline"
    assert any("imported from albumentations" in n for n in policy.notes)
    assert Policy.from_dict(policy.to_dict()) == policy
    out = apply_draw_float(torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8), policy,
                           sample_draw(policy, seed=0, epoch=0, indices=torch.arange(4)))
    assert out.shape == (4, 3, 64, 64) and torch.isfinite(out).all()


def test_color_jitter_defaults_asymmetric_ranges_and_compose_p(tmp_path):
    pipeline = A.Compose([A.ColorJitter(), A.ColorJitter(brightness=(0.9, 1.4), hue=(-0.1, 0.2), p=1.0)], p=0.7)
    policy = load_policy(_save(tmp_path, pipeline, "yaml"))
    default, custom = policy.ops
    # albumentations defaults (0.8, 1.2) x3, hue (-0.5, 0.5), p 0.5 -> torchvision-style x
    assert default.params == {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.5} and default.p == 0.5
    assert custom.params["brightness"] == [0.9, 1.4] and custom.params["hue"] == [-0.1, 0.2]
    assert policy.p == 0.7
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(2000))
    b = draw.ops[1]["brightness"]
    assert 0.9 <= b.min() < 0.91 and 1.39 < b.max() < 1.4
    gate = draw.ops[0]["apply"] | draw.ops[1]["apply"]
    assert 1250 < int(gate.sum()) < 1550  # the Compose p=0.7 gate


def test_reflect_padding_coarse_dropout_and_normalize_scale(tmp_path):
    pipeline = A.Compose([
        A.PadIfNeeded(min_height=68, min_width=68, border_mode=4),
        A.RandomCrop(height=64, width=64),
        A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(0.1, 0.2), hole_width_range=(0.2, 0.4), p=1.0),
        A.Normalize(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), max_pixel_value=1.0),
    ])
    policy = load_policy(_save(tmp_path, pipeline, "json"))
    crop, erase, norm = policy.ops
    assert crop.params["padding"] == 2 and crop.params["padding_mode"] == "reflect"
    assert erase.params["scale"] == pytest.approx([0.02, 0.08]) and erase.params["ratio"] == pytest.approx([0.25, 1.0])
    assert any("CoarseDropout approximated" in n for n in policy.notes)
    assert norm.params["mean"] == pytest.approx([0.5 / 255] * 3) and norm.params["std"] == pytest.approx([0.25 / 255] * 3)


@pytest.mark.parametrize("transforms,fragment", [
    ([A.HorizontalFlip(), A.RandomBrightnessContrast()],
     "transform 2 (RandomBrightnessContrast): no augstudy counterpart for albumentations 'RandomBrightnessContrast'"),
    ([A.Affine(shear=10)], "transform 1 (Affine): unsupported a non-zero shear"),
    ([A.CoarseDropout(num_holes_range=(1, 3))], "unsupported num_holes_range=[1.0, 3.0]"),
    ([A.PadIfNeeded(min_height=72, min_width=72), A.HorizontalFlip()],
     "transform 1 (PadIfNeeded): unsupported PadIfNeeded not directly followed by RandomCrop"),
    ([A.ToGray(method="max")], "unsupported method='max'"),
])
def test_ops_without_counterpart_fail_naming_them(tmp_path, transforms, fragment):
    path = _save(tmp_path, A.Compose(transforms), "yaml")
    with pytest.raises(UserError) as info:
        load_policy(path)
    assert fragment in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_random_resized_crop_and_size_change(tmp_path):
    pipeline = A.Compose([A.RandomResizedCrop(size=(48, 48), scale=(0.3, 1.0), p=1.0), A.HorizontalFlip()])
    policy = load_policy(_save(tmp_path, pipeline, "yaml"))
    assert policy.ops[0].params == {"size": 48, "scale": [0.3, 1.0], "ratio": [0.75, 4 / 3]}
    assert policy.needs_resize() and any("resize back" in n for n in policy.notes)
