"""The report's figures (seaborn on matplotlib's Agg backend), each returned as PNG bytes.

Every figure colours arms with the one palette from :func:`arm_palette`, so an
arm has the same colour in the forest plot, the learning curves and the
stability plot.  Accuracies and effects are drawn in points (100 x fraction).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd

#: colour of the baseline arm in every figure
BASELINE_COLOR = "#4d4d4d"
#: PNG resolution; figures are sized in inches so text stays ~9-10 px tall on screen
DPI = 110
#: most classes a heatmap shows as columns; beyond that the most-changed ones
HEATMAP_MAX_CLASSES = 30

_CURVES = (  # (epochs.csv column, TensorBoard tag, is accuracy)
    ("train_acc", "Accuracy/train", True),
    ("val_acc", "Accuracy/val", True),
    ("train_loss", "Loss/train", False),
    ("val_loss", "Loss/val", False),
)


def _pyplot():
    """pyplot on the Agg backend (no display needed), with the report's seaborn theme."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9,
                  rc={"axes.edgecolor": "#cccccc", "grid.color": "#eeeeee", "axes.titleweight": "bold"})
    return plt, sns


def _png(fig) -> bytes:
    plt, _ = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def arm_palette(arms: list[str], baseline: str | None = None) -> dict[str, str]:
    """Arm -> hex colour: the baseline dark grey, the others from seaborn's colorblind
    palette (without green, vermilion and grey) in the given order, then husl hues beyond seven arms."""
    import seaborn as sns

    # colorblind palette without its green, vermilion and grey: green/red mean better/worse in the
    # tables and grey is the baseline, so no arm may look like a verdict
    base_colors = [c for i, c in enumerate(sns.color_palette("colorblind", 10).as_hex()) if i not in (2, 3, 7)]
    others = [a for a in arms if a != baseline]
    if len(others) > len(base_colors):
        base_colors = base_colors + sns.color_palette("husl", len(others) - len(base_colors)).as_hex()
    palette = {arm: base_colors[i] for i, arm in enumerate(others)}
    if baseline is not None:
        palette[baseline] = BASELINE_COLOR
    return palette


def forest_plot(effects: pd.DataFrame, palette: dict[str, str], *, metric: str = "", title: str = "") -> bytes:
    """Effects with their stored (family-adjusted) intervals, one row per arm, best on top; the zero line drawn.

    ``effects`` needs ``arm, effect_mean, ci_low, ci_high`` (points) and optionally
    ``significant``; significant arms get filled markers, the others hollow ones.
    """
    plt, sns = _pyplot()
    from augstudy.ablation.storage.cells import parse_bool

    data = effects.dropna(subset=["effect_mean"]).sort_values("effect_mean", ascending=True).reset_index(drop=True)
    bounds = pd.concat([data["effect_mean"], data["ci_low"], data["ci_high"]]).astype(float)
    bounds = bounds[np.isfinite(bounds)]
    lo = min(0.0, float(bounds.min())) if len(bounds) else -1.0
    hi = max(0.0, float(bounds.max())) if len(bounds) else 1.0
    pad = 0.08 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(data) + 1.4))
    ax.axvline(0, color="#333333", lw=1.2, zorder=1)
    for y, row in data.iterrows():
        color = palette.get(row["arm"], "#1f77b4")
        significant = parse_bool(row.get("significant", False))
        # an unbounded interval (one seed) is drawn to the axis edge and is dotted
        low, high = float(row["ci_low"]), float(row["ci_high"])
        ax.hlines(y, max(low, lo) if np.isfinite(low) else lo, min(high, hi) if np.isfinite(high) else hi,
                  color=color, lw=2.4, zorder=2, linestyles="solid" if np.isfinite(low + high) else "dotted")
        ax.scatter([row["effect_mean"]], [y], s=70, zorder=3, edgecolors=color, linewidths=2,
                   facecolors=color if significant else "white")
    ax.set_yticks(range(len(data)), data["arm"])
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(f"effect vs baseline, accuracy points ({metric}); bars: adjusted interval" if metric else
                  "effect vs baseline, accuracy points; bars: adjusted interval")
    ax.set_title(title or "Effects (filled = significant, hollow = not significant)", loc="left", fontsize=10)
    sns.despine(ax=ax, left=True)
    return _png(fig)


def learning_curves(epochs: pd.DataFrame, arms: list[str], palette: dict[str, str]) -> bytes:
    """2x2 panels (Accuracy/train, Accuracy/val, Loss/train, Loss/val) of the mean over seeds
    per epoch, with a band from the minimum to the maximum seed."""
    plt, sns = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for ax, (column, tag, is_acc) in zip(axes.flat, _CURVES):
        for arm in arms:
            run = epochs[epochs["arm"] == arm]
            if not len(run):
                continue
            values = run[["epoch", column]].replace([np.inf, -np.inf], np.nan)
            if is_acc:
                values[column] = values[column] * 100
            grouped = values.groupby("epoch")[column].agg(["mean", "min", "max"]).reset_index()
            color = palette.get(arm)
            ax.plot(grouped["epoch"], grouped["mean"], color=color, lw=1.8, label=arm,
                    marker="o" if len(grouped) <= 12 else None, ms=3.5)  # markers keep 1-epoch runs visible
            ax.fill_between(grouped["epoch"], grouped["min"], grouped["max"], color=color, alpha=0.18, lw=0)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_title(tag, loc="left", fontsize=10)
        ax.set_ylabel("accuracy (%)" if is_acc else "cross-entropy loss")
        if column.endswith("loss"):
            ax.set_xlabel("epoch")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False,
                   bbox_to_anchor=(0.5, -0.04))
    fig.suptitle("Learning curves: mean over seeds, band = min-max across seeds", x=0.01, ha="left",
                 fontsize=10, fontweight="bold")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    sns.despine(fig=fig)
    return _png(fig)


def stability_plot(per_seed: pd.DataFrame, arms: list[str], palette: dict[str, str]) -> bytes:
    """Two panels: stability (sd of val acc over the second half, points) and generalization
    gap (train - val acc at the last epoch, points) per arm; dots = seeds, bar = mean."""
    plt, sns = _pyplot()
    present = [a for a in arms if a in set(per_seed["arm"])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.42 * len(present) + 1.6), sharey=True)
    panels = (("stability", "Stability: sd of val acc, 2nd half (pts, lower = steadier)"),
              ("gen_gap", "Generalization gap: train - val acc (pts)"))
    for ax, (column, title) in zip(axes, panels):
        data = per_seed[per_seed["arm"].isin(present)].dropna(subset=[column])
        sns.stripplot(data=data, x=column, y="arm", hue="arm", order=present, palette=palette, ax=ax,
                      size=6, jitter=0.12, legend=False)
        if not len(data):
            ax.text(0.5, 0.5, "n/a: needs 2+ epochs in the second half" if column == "stability" else "n/a",
                    transform=ax.transAxes, ha="center", va="center", color="#59636e")
        means = data.groupby("arm")[column].mean()
        for y, arm in enumerate(present):
            if arm in means:
                ax.vlines(means[arm], y - 0.3, y + 0.3, color=palette.get(arm), lw=2.5)
        ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("accuracy points")
        ax.set_ylabel("")
    sns.despine(fig=fig, left=True)
    fig.tight_layout()
    return _png(fig)


def select_heatmap_classes(per_class: pd.DataFrame, max_classes: int = HEATMAP_MAX_CLASSES) -> list[int]:
    """Class indices to show: all (sorted) when few, else the ``max_classes`` whose change departs
    most from their arm's median change (largest ``|effect - arm median|`` in any arm), in
    class-index order.  Departure, not raw size: an arm that lowers every class by 10 points
    should not crowd out the few classes another arm treats very differently from the rest."""
    classes = sorted(per_class["class_index"].unique())
    if len(classes) <= max_classes:
        return classes
    median = per_class.groupby("arm")["effect_mean"].transform("median")
    departure = (per_class["effect_mean"] - median).abs().groupby(per_class["class_index"]).max()
    return sorted(departure.sort_values(ascending=False).index[:max_classes])


def class_heatmap(per_class: pd.DataFrame, arms: list[str], max_classes: int = HEATMAP_MAX_CLASSES) -> bytes:
    """Arms x classes heatmap of the per-class accuracy change (points), diverging colormap
    centred at 0 (red = worse, blue = better); ``*`` marks BH-significant cells."""
    plt, sns = _pyplot()
    from augstudy.ablation.storage.cells import parse_bool

    classes = select_heatmap_classes(per_class, max_classes)
    sub = per_class[per_class["class_index"].isin(classes)]
    present = [a for a in arms if a in set(sub["arm"])]
    values = sub.pivot_table(index="arm", columns="class_index", values="effect_mean").reindex(index=present, columns=classes)
    names = sub.drop_duplicates("class_index").set_index("class_index")["class_name"].reindex(classes)
    sig = sub.assign(sig=sub["significant"].map(parse_bool)).pivot_table(
        index="arm", columns="class_index", values="sig", aggfunc="max").reindex(index=present, columns=classes)
    annot = values.map(lambda v: f"{v:+.1f}" if np.isfinite(v) else "") + sig.map(lambda s: "*" if s else "")
    finite = np.abs(values.to_numpy())[np.isfinite(values.to_numpy())]
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0  # all-zero changes: a neutral map
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(classes) + 2.5), 0.5 * len(present) + 2.2))
    with warnings.catch_warnings():  # seaborn 0.13 calls matplotlib's deprecated Colormap.set_bad
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(values, cmap="RdBu", center=0, vmin=-limit, vmax=limit, annot=annot.to_numpy(), fmt="",
                    annot_kws={"fontsize": 7}, linewidths=0.5, linecolor="white", ax=ax,
                    cbar_kws={"label": "change in class val acc (pts)", "shrink": 0.8})
    ax.set_xticklabels([str(n) for n in names], rotation=60, ha="right", fontsize=8)
    ax.set_yticklabels(present, rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    shown = "all classes" if len(classes) == per_class["class_index"].nunique() else \
        f"{len(classes)} of {per_class['class_index'].nunique()} classes departing most from their arm's median"
    ax.set_title(f"Per-class accuracy change vs baseline ({shown}; * = BH q < 0.05)", loc="left", fontsize=10)
    fig.tight_layout()
    return _png(fig)
