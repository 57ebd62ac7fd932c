"""Render a ``measure_policy`` result: terminal tables, and the JSON + CSV files (written atomically)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from augstudy.atomic import atomic_write_json, atomic_write_text
from augstudy.file_slug import file_slug

CHANNELS = ("r", "g", "b")


def format_value(value, spec: str = ".3f", none: str = "-") -> str:
    """``value`` formatted with ``spec``, or ``none`` when it is missing (the cells of every measure table)."""
    return none if value is None else format(value, spec)


def _rows(result: dict) -> list[dict]:
    return [{"label": "policy", "kind": "policy", "op": result["policy"], "p": result["policy_spec"].get("p", 1.0),
             "stats": result["stats"], "throughput": result["throughput"],
             "throughput_ratio": result["throughput_ratio"], "affinity": result.get("affinity"),
             "throughput_na": result.get("throughput_na")}] + result["ops"]


def throughput_table(result: dict) -> str:
    """img/s per backend (and the ratio to torchvision) for the policy and each op."""
    rows = [r for r in _rows(result) if r.get("throughput")]
    columns = list(dict.fromkeys(c for r in rows for c in r["throughput"]))  # e.g. torchvision-own on one row
    width = max([len(r["label"]) for r in rows] + [10])
    header = f"{'images/s':<{width}} " + " ".join(f"{c:>22}" for c in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for c in columns:
            if c not in row["throughput"]:  # a backend that cannot apply this row (no automatic policies)
                cells.append("n/a".rjust(22))
                continue
            ratio = row["throughput_ratio"].get(c)
            cells.append(f"{row['throughput'][c]:>12,.0f} ({format_value(ratio, '.2f')}x)".rjust(22))
        lines.append(f"{row['label']:<{width}} " + " ".join(cells))
    reasons = {why: [] for row in rows for why in (row.get("throughput_na") or {}).values()}
    for row in rows:  # why a cell reads n/a, once per reason
        for backend, why in (row.get("throughput_na") or {}).items():
            if backend not in reasons[why]:
                reasons[why].append(backend)
    for why, backends in reasons.items():
        lines.append(f"n/a: {', '.join(backends)}: {why}")
    for row in rows:  # the automatic policies: the engine against torchvision's own transform
        own, engine = row["throughput"].get("torchvision-own"), row["throughput"].get("augstudy")
        if own and engine:
            lines.append(f"{row['label']}: augstudy engine {engine / own:.2f}x torchvision's own {row['op']} "
                         f"per image (which draws its own choices)")
    return "\n".join(lines)


def stats_table(result: dict) -> str:
    """Pixel-statistics shift of the policy and each op (0..255 units, SSIM, PSNR, no-op share)."""
    rows = _rows(result)
    width = max([len(r["label"]) for r in rows] + [10])
    header = (f"{'row':<{width}} {'mean before -> after (R/G/B)':>34} {'std before -> after (R/G/B)':>34} "
              f"{'clip% b->a':>12} {'SSIM':>6} {'PSNR dB':>8} {'no-op%':>7}")
    lines = [header, "-" * len(header)]
    for row in rows:
        s = row["stats"]
        mean = "/".join(f"{v:.0f}" for v in s["mean_before"]) + " -> " + "/".join(f"{v:.0f}" for v in s["mean_after"])
        std = "/".join(f"{v:.0f}" for v in s["std_before"]) + " -> " + "/".join(f"{v:.0f}" for v in s["std_after"])
        clip = f"{100 * s['clip_before']:.1f}->{100 * s['clip_after']:.1f}"
        noop = "-" if s["noop_share"] is None else f"{100 * s['noop_share']:.0f}"
        lines.append(f"{row['label']:<{width}} {mean:>34} {std:>34} {clip:>12} {s['ssim']:>6.3f} "
                     f"{format_value(s['psnr_db'], '.1f'):>8} {noop:>7}")
    return "\n".join(lines)


def affinity_table(result: dict) -> str | None:
    rows = [r for r in _rows(result) if r.get("affinity")]
    if not rows:
        return None
    width = max([len(r["label"]) for r in rows] + [10])
    header = f"{'affinity':<{width}} {'clean acc':>10} {'augmented acc':>14} {'affinity':>9}"
    lines = [header, "-" * len(header)]
    for row in rows:
        a = row["affinity"]
        lines.append(f"{row['label']:<{width}} {a['clean_acc']:>10.3f} {a['augmented_acc']:>14.3f} "
                     f"{format_value(a['affinity'], '.3f'):>9}")
    return "\n".join(lines)


def format_result(result: dict) -> str:
    """Every table and note, ready for the terminal."""
    from augstudy.policy.equivalence import format_equivalence_table

    parts = [f"policy {result['policy']} on {result['dataset']} ({result['n']} val images, seed {result['seed']}, "
             f"device {result['device']}; stats from backend {result['stats_backend']}, "
             f"throughput: batches of {result['throughput_batch']} {result['image_size']}x{result['image_size']} uint8 images, "
             f"{result['throughput_batch_per_image']} for per-image backends; draws sampled beforehand)",
             "", throughput_table(result), "", stats_table(result)]
    table = affinity_table(result)
    parts += ["", table] if table else ["", f"affinity: not measured. {result['affinity_note']}"]
    parts += ["", f"note: {result['diversity_note']}"]
    if result.get("equivalence"):
        parts += ["", f"equivalence vs torchvision on {result['equivalence_images']}, 0..255 units:",
                  format_equivalence_table(result["equivalence"])]
    if result.get("auto_equivalence"):
        parts += ["", "automatic policies vs torchvision's own sub-op code on the same choices, 0..255 units:",
                  format_auto_equivalence(result["auto_equivalence"])]
    if result["warnings"]:
        parts += [""] + result["warnings"]
    return "\n".join(parts)


def format_auto_equivalence(rows: list[dict]) -> str:
    """``augstudy.policy.auto_equivalence`` rows as a fixed-width table."""
    header = (f"{'sub-op or policy':<24} {'backend':<9} {'dtype':<6} {'max |diff|':>10} {'mean |diff|':>11} "
              f"{'off > 0.5':>9} {'bound':>12}  ok")
    lines = [header, "-" * len(header)]
    for row in rows:
        bound = f"{row['bound_max']:g}/{row['bound_mean']:g}"
        lines.append(f"{row['compared']:<24} {row.get('backend', 'augstudy'):<9} {row['dtype']:<6} "
                     f"{row['max_abs_diff']:>10.3g} {row['mean_abs_diff']:>11.2g} {row['differing_share']:>9.2%} "
                     f"{bound:>12}  {'yes' if row['within_bound'] else 'NO'}")
    return "\n".join(lines)


def csv_rows(result: dict) -> list[dict]:
    """One flat dict per row (policy, ops, sub-ops) for the CSV."""
    out = []
    for row in _rows(result):
        s = row["stats"]
        flat = {"label": row["label"], "kind": row["kind"], "op": row["op"], "p": row["p"]}
        for backend in list(result["backends"]) + ["torchvision-own"]:
            flat[f"throughput_{backend}"] = (row.get("throughput") or {}).get(backend)
            flat[f"ratio_{backend}"] = (row.get("throughput_ratio") or {}).get(backend)
        for key in ("mean_before", "mean_after", "std_before", "std_after"):
            for channel, value in zip(CHANNELS, s[key]):
                flat[f"{key}_{channel}"] = round(value, 4)
        for key in ("clip_before", "clip_after", "ssim", "psnr_db", "noop_share", "n_applied"):
            flat[key] = s[key]
        affinity = row.get("affinity") or {}
        flat.update({"clean_acc": affinity.get("clean_acc"), "augmented_acc": affinity.get("augmented_acc"),
                     "affinity": affinity.get("affinity")})
        out.append(flat)
    return out


def default_paths(policy_name: str, out_dir: str | Path = "reports") -> tuple[Path, Path]:
    """``(reports/measure-<policy>.json, reports/measure-<policy>.csv)`` (name made file-safe by :func:`augstudy.file_slug.file_slug`)."""
    safe = file_slug(policy_name)
    out_dir = Path(out_dir)
    return out_dir / f"measure-{safe}.json", out_dir / f"measure-{safe}.csv"


def write_result(result: dict, out_dir: str | Path = "reports") -> tuple[Path, Path]:
    """Write the JSON and CSV atomically; returns their paths."""
    json_path, csv_path = default_paths(result["policy"], out_dir)
    atomic_write_json(json_path, result)
    rows = csv_rows(result)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(csv_path, buffer.getvalue())
    return json_path, csv_path


__all__ = ["format_result", "write_result", "csv_rows", "default_paths", "throughput_table", "stats_table",
           "affinity_table"]
