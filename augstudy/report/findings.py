"""Things a reader of the report must not miss, as plain-text findings.

Each finding is a :class:`Finding` (kind, arm or None, one-sentence message).
Kinds: ``progress`` (unfinished study), ``underpowered`` (an arm with no verdict yet, neither
better/worse nor equivalent, and how many seeds would settle it), ``diverged`` / ``failed`` (runs listed),
``grayscale-noop`` (saturation/hue/grayscale ops on a grayscale dataset change
nothing), ``data-check`` (findings from ``augstudy data check`` in study.json).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from augstudy.ablation.storage.cells import parse_number
from augstudy.ablation.storage.reader import Study
from augstudy.ablation.terms import Verdict

#: above this share of single-channel images a dataset counts as grayscale
GRAYSCALE_THRESHOLD = 0.99

#: (op name, parameter) pairs that do nothing on an image with R == G == B; None = the whole op
_COLOR_ONLY = {
    "ColorJitter": ("saturation", "hue"),
    "Saturation": None,
    "Hue": None,
    "HueSaturationValue": None,
    "RandomGrayscale": None,
    "ToGray": None,
    "ChannelShuffle": None,
    "RGBShift": None,
}


@dataclass(frozen=True)
class Finding:
    kind: str
    arm: str | None
    message: str


def _is_set(op: str, field: str, value) -> bool:
    """A parameter of a stored policy dict is "on" when it can draw a non-neutral value
    (ColorJitter: :func:`augstudy.policy.ops.color_jitter.is_neutral_setting`); unreadable values are off."""
    from augstudy.policy.ops.color_jitter import is_neutral_setting

    if op != "ColorJitter" or value is None:
        return False
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(isinstance(v, (int, float)) for v in value):
            return False
        return not is_neutral_setting(field, [float(v) for v in value])
    try:
        return not is_neutral_setting(field, float(value))
    except (TypeError, ValueError):
        return False


def color_only_ops(policy: dict | None) -> list[str]:
    """Descriptions of the ops/fields of ``policy`` that cannot change a grayscale image,
    e.g. ``["ColorJitter saturation=0.4", "ColorJitter hue=0.1"]``."""
    found: list[str] = []
    for spec in (policy or {}).get("ops", []) or []:
        if not isinstance(spec, dict):
            continue
        name = str(spec.get("op", ""))
        if name not in _COLOR_ONLY or float(spec.get("p", 1.0) or 0.0) == 0.0:
            continue
        fields = _COLOR_ONLY[name]
        # augstudy's Policy.to_dict() keeps parameters flat beside "op" and "p"; accept a nested "params" too
        params = spec.get("params") if isinstance(spec.get("params"), dict) else spec
        if fields is None:
            found.append(name)
        else:
            found.extend(f"{name} {f}={params[f]}" for f in fields if _is_set(name, f, params.get(f)))
    return found


def dataset_is_grayscale(study: Study) -> bool:
    """study.json's ``grayscale_fraction`` when present, else a dataset name containing "mnist"."""
    fraction = study.meta.get("grayscale_fraction")
    if fraction is not None:
        try:
            return float(fraction) >= GRAYSCALE_THRESHOLD
        except (TypeError, ValueError):
            pass
    return "mnist" in study.dataset.lower()


def _number(value) -> float | None:
    return parse_number(value, finite=True)


def collect_findings(study: Study) -> list[Finding]:
    """Every finding for ``study``, in reading order (progress, runs, power, data)."""
    findings: list[Finding] = []
    notice = study.progress
    if notice:
        findings.append(Finding("progress", None, notice[0].upper() + notice[1:] + "."))

    if len(study.runs):
        for row in study.runs.itertuples():
            status = str(row.status)
            if status == "diverged":
                epoch = _number(getattr(row, "diverged_epoch", None))
                at = f" at epoch {int(epoch)}" if epoch is not None else ""
                findings.append(Finding("diverged", row.arm, f"{row.arm} seed {row.seed} diverged{at} (non-finite "
                                        "loss); it counts at chance level in the effects (verdict unstable)."))
            elif status == "failed":
                findings.append(Finding("failed", row.arm, f"{row.arm} seed {row.seed} failed; see the run log "
                                        "and rerun 'augstudy ablate' to retry it."))

    for row in study.effect_rows:
        if row.significant or (row.verdict and row.verdict.is_decided()):   # decided: not underpowered
            continue
        effect = row.effect_mean if math.isfinite(row.effect_mean) else None
        verdict = row.verdict or "not significant"
        if verdict == Verdict.INCONCLUSIVE:  # the statistics' word for "not significant, but above the MDE"
            verdict = "inconclusive (not significant)"
        what = f"effect {effect:+.2f} pts is {verdict}" if effect is not None else f"effect is {verdict}"
        needed = row.seeds_needed
        if needed is not None and needed > row.n_seeds:
            settle = f"about {needed} seeds would settle it (has {row.n_seeds})"
        else:
            settle = f"more seeds would settle it (has {row.n_seeds})"
        findings.append(Finding("underpowered", row.arm, f"{row.arm}: {what}; {settle}."))

    if dataset_is_grayscale(study):
        # one line per distinct set of colour-only ops (a dropout study shares one policy)
        arms_by_ops: dict[tuple[str, ...], list[str]] = {}
        for spec in study.arm_specs:
            ops = color_only_ops(spec.get("policy"))
            if ops:
                label = f"{spec.get('arm')} (baseline)" if spec.get("arm") == study.baseline_arm else spec.get("arm")
                arms_by_ops.setdefault(tuple(ops), []).append(label)
        for ops, labels in arms_by_ops.items():
            every = len(labels) == len(study.arm_specs) and len(labels) > 1
            who = f"all {len(labels)} arms" if every else ", ".join(labels)
            findings.append(Finding(
                "grayscale-noop", None if every else labels[0].split(" ")[0],
                f"{who}: {', '.join(ops)} change nothing on grayscale {study.dataset} "
                "(R = G = B); any effect of an arm comes from its other ops or from noise."))

    for item in study.meta.get("data_check") or []:
        findings.append(Finding("data-check", None, format_data_check(item)))
    return findings


def format_data_check(item) -> str:
    """One line for a data-check finding: a string as is, a dict as "[severity] check: message"."""
    if not isinstance(item, dict):
        return str(item)
    severity = item.get("severity") or item.get("level")
    check = item.get("check") or item.get("name") or item.get("kind")
    message = item.get("message") or item.get("msg") or item.get("detail")
    if message is None:
        message = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("severity", "level", "check", "name", "kind"))
    prefix = f"[{severity}] " if severity else ""
    return f"{prefix}{check}: {message}" if check else f"{prefix}{message}"
