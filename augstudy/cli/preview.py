"""``augstudy preview``: a PNG grid of real images and their augmented draws, replayable.

Thin: parses options, then calls :mod:`augstudy.preview` (imported inside the command so
``--help`` stays instant).
"""

from __future__ import annotations

import click

# options that describe a fresh preview; with --replay they come from the JSON record instead
_FRESH_OPTIONS = ("policy_spec", "n", "draws", "seed", "epoch", "split", "per_op", "compare", "strength", "mixup",
                  "cutmix", "mix_prob", "switch_prob")
# options a MixUp/CutMix preview has no use for (one mixed view per train image, the run's epoch-1 draws)
_NOT_WITH_MIX = ("per_op", "compare", "strength", "draws", "epoch")
# the run config's mix defaults (augstudy.ablation.spec.file_schema.REGULARIZER_DEFAULTS["mix"], not imported
# here so that --help stays instant; tests/preview/test_preview_mix.py checks they agree)
MIX_PROB_DEFAULT = 1.0
SWITCH_PROB_DEFAULT = 0.5


def _flag(name: str) -> str:
    return "--" + ("policy" if name == "policy_spec" else name.replace("_", "-"))


def _split_names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _strengths(text: str) -> list[float]:
    """``"0,1,3"`` -> ``[0.0, 1.0, 3.0]`` (repeats dropped); UserError naming a bad value."""
    from augstudy.errors import UserError

    values = []
    for item in _split_names(text):
        try:
            value = float(item)
        except ValueError:
            raise UserError(f"--strength: {item!r} is not a number; pass values >= 0, e.g. --strength 0,1,3") from None
        if not value >= 0 or value == float("inf"):
            raise UserError(f"--strength: {item!r} must be a finite number >= 0 (0 = identity, 1 = the policy "
                            f"as written), e.g. --strength 0,1,3")
        values.append(value)
    if not values:
        raise UserError("--strength: give at least one value, e.g. --strength 0,1,3")
    return list(dict.fromkeys(values))


@click.command("preview")
@click.option("--policy", "policy_spec", default=None, metavar="NAME",
              help="Policy: a preset (none, light, medium, heavy, final) or a policy YAML/JSON file. "
                   "Required unless --compare lists two or more policies, or --replay is given.")
@click.option("--data", default=None, metavar="PATH",
              help="Dataset (Tiny-ImageNet tree, image folders, IDX, CIFAR). "
                   "Default: data/tiny-imagenet-200 if present, else the embedded data/fashion-mnist-mini.")
@click.option("--n", type=click.IntRange(min=1), default=8, show_default=True,
              help="Number of images (rows), chosen one per class round-robin from --seed.")
@click.option("--draws", type=click.IntRange(min=1), default=4, show_default=True,
              help="Augmented versions per image (columns); draw d uses epoch --epoch + d.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the image choice and of every augmentation draw.")
@click.option("--epoch", type=click.IntRange(min=0), default=0, show_default=True,
              help="Epoch of the first draw (draws are keyed by seed, epoch and image index).")
@click.option("--split", type=click.Choice(["val", "train"]), default="val", show_default=True,
              help="Dataset split the images come from.")
@click.option("--per-op", is_flag=True, default=False,
              help="Show one draw op by op: original, after op 1, after op 2, ... (default: off).")
@click.option("--compare", default=None, metavar="NAME2,...",
              help="Comma-separated policies shown side by side with --policy on the same images and seed, "
                   "e.g. --compare light,heavy (default: none).")
@click.option("--strength", default=None, metavar="S1,S2,...",
              help="Comma-separated strengths of --policy shown side by side on the same images and seed, one "
                   "column group each (augstudy.policy.scale_policy: 0 = identity, 1 = as written, 2 = every "
                   "magnitude doubled), e.g. --strength 0,1,3 (default: none).")
@click.option("--mixup", type=float, default=None, metavar="ALPHA",
              help="Show MixUp instead of draws: each of --n train images after --policy and its mix with a partner "
                   "(lambda ~ Beta(ALPHA, ALPHA)), the pairs and lambdas run seed --seed trains on at epoch 1, as a "
                   "study arm's preview (default: off).")
@click.option("--cutmix", type=float, default=None, metavar="ALPHA",
              help="As --mixup for CutMix (box lambda ~ Beta(ALPHA, ALPHA)); with --mixup, --switch-prob picks "
                   "between them (default: off).")
@click.option("--mix-prob", type=float, default=MIX_PROB_DEFAULT, show_default=True, metavar="P",
              help="With --mixup/--cutmix: probability an image is mixed (the run config's mix.prob).")
@click.option("--switch-prob", type=float, default=SWITCH_PROB_DEFAULT, show_default=True, metavar="P",
              help="With --mixup and --cutmix: probability of CutMix (the run config's mix.switch_prob).")
@click.option("--replay", type=click.Path(dir_okay=False), default=None, metavar="FILE.json",
              help="Re-render a preview exactly from the JSON written beside its PNG (default: off).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Output PNG; its JSON record is written beside it as <name>.json. Default: "
                   "reports/preview-<policy>.png (compare: reports/preview-<p1>-vs-<p2>.png; strength: "
                   "reports/preview-<policy>-strength-<s1>-<s2>.png; mixing: reports/preview-<policy>-mixup-<a>-"
                   "cutmix-<a>.png; replay: <record>-replay.png).")
@click.pass_context
def preview_command(ctx: click.Context, policy_spec, data, n, draws, seed, epoch, split, per_op, compare,
                    strength, mixup, cutmix, mix_prob, switch_prob, replay, out) -> None:
    """Write a PNG grid of dataset images and their augmented draws (or, with --mixup/--cutmix, their
    MixUp/CutMix pairs and lambdas), plus a JSON that replays it."""
    from augstudy.errors import UserError

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

    if out is not None:   # before any work: a PNG path, and no file of the user's under it
        from augstudy.preview.record import check_preview_target

        check_preview_target(out, f"--out {out}")
    if replay is not None:
        flags = [_flag(name) for name in _FRESH_OPTIONS if given(name)]
        if flags:
            raise UserError(f"--replay takes only --out and --data (the rest is in {replay}); drop {', '.join(flags)}")
        _replay(replay, data, out)
        return
    if mixup is not None or cutmix is not None:
        _mix_preview(given, policy_spec, data, n, seed, split, mixup, cutmix, mix_prob, switch_prob, out)
        return
    for name in ("mix_prob", "switch_prob"):
        if given(name):
            raise UserError(f"{_flag(name)} sets how MixUp/CutMix mix; add --mixup ALPHA or --cutmix ALPHA, or drop it")

    policy_names = ([policy_spec] if policy_spec else []) + _split_names(compare)
    policy_names = list(dict.fromkeys(policy_names))  # drop repeats, keep order
    if compare is not None and per_op:
        raise UserError("--per-op shows one policy; drop --per-op or --compare")
    if not policy_names:
        raise UserError("--policy is required, e.g. --policy light (or --compare light,heavy, or --replay FILE.json)")
    if strength is not None and (compare is not None or per_op):
        raise UserError("--strength shows one policy at several strengths; drop --compare / --per-op")
    strengths = None if strength is None else _strengths(strength)
    if compare is not None and len(policy_names) < 2:
        raise UserError(f"--compare {compare!r}: name at least two distinct policies in total, e.g. --compare light,heavy")

    from augstudy import preview as lib

    policies = [lib.resolve_policy(name) for name in policy_names]  # fail on a bad policy before loading data
    dataset = _load(data)
    if out is None:
        out = lib.default_out_path([p.name for p in policies], per_op=per_op, strengths=strengths)
    if strengths is not None:
        built = lib.build_strengths(policies[0], strengths, dataset, n=n, draws=draws, seed=seed, split=split,
                                    epoch=epoch)
    elif len(policies) > 1:
        built = lib.build_compare(policies, dataset, n=n, draws=draws, seed=seed, split=split, epoch=epoch)
    elif per_op:
        built = lib.build_per_op(policies[0], dataset, n=n, seed=seed, split=split, epoch=epoch)
    else:
        built = lib.build_grid(policies[0], dataset, n=n, draws=draws, seed=seed, split=split, epoch=epoch)
    _write_and_report(lib, built, out)


def _load(data):
    """Resolve ``--data`` (printing which dataset is used) and load it."""
    from augstudy.data import load_dataset_folder, resolve_data_path

    path, message = resolve_data_path(data)
    dataset = load_dataset_folder(path)
    click.echo(message, err=True)  # after loading, so a bad path shows only the one-line error
    return dataset


def _mix_preview(given, policy_spec, data, n, seed, split, mixup, cutmix, mix_prob, switch_prob, out) -> None:
    """``--mixup``/``--cutmix``: the mix preview of ``--policy`` (the ablation's, exactly a study arm's draws)."""
    from augstudy.errors import UserError

    refused = [_flag(name) for name in _NOT_WITH_MIX if given(name)]
    if refused:
        raise UserError(f"--mixup/--cutmix show one mixed view per train image (the run's epoch-1 draws); drop "
                        f"{', '.join(refused)}")
    if split != "train" and given("split"):
        raise UserError("--mixup/--cutmix mix train images (mixing is a training step); drop --split val")
    from augstudy.ablation.execution.mix_preview import build_mix_preview, check_mix_options

    mix = check_mix_options(mixup, cutmix, mix_prob, switch_prob)   # the run config's rules, one line per flag
    if not policy_spec:
        raise UserError("--policy is required, e.g. --policy light --mixup 0.8")
    from augstudy import preview as lib

    policy = lib.resolve_policy(policy_spec)   # fail on a bad policy before loading data
    dataset = _load(data)
    if out is None:
        out = lib.default_out_path([policy.name], mix=mix)
    _write_mix_and_report(build_mix_preview(policy, dataset, mix, n=n, seed=seed), out)


def _write_mix_and_report(built, out) -> None:
    """Write the mix preview's PNG + JSON; print what it shows, one row per image, and the paths."""
    from augstudy import preview as lib
    from augstudy.ablation.execution.mix_preview import write_mix_record_preview

    png = write_mix_record_preview(built, out)
    record, mix = built.record, built.record["mix"]
    click.echo(f"mix preview: {len(built.rows)} train images of {record['dataset']}, policy "
               f"{record['policy'].get('name')}, MixUp alpha {mix['mixup_alpha']}, CutMix alpha {mix['cutmix_alpha']}, "
               f"p {mix['prob']}, switch {mix['switch_prob']}; run seed {record['seed']}, epoch {record['epoch']}")
    table = [["image", "partner", "mix", "lam"], *built.rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    click.echo(f"wrote {png}")
    click.echo(f"wrote {lib.preview_json_path(png)}")


def _replay(replay: str, data, out) -> None:
    from pathlib import Path

    from augstudy import preview as lib

    record = lib.load_record(replay, allow_mix=True)
    dataset = _load(data) if data is not None else None
    if out is None:
        out = Path(replay).with_name(Path(replay).stem + "-replay.png")
    if record.get("mode") == lib.MIX_MODE:
        from augstudy.ablation.execution.mix_preview import replay_mix_preview

        _write_mix_and_report(replay_mix_preview(record, dataset=dataset, source=replay), out)
        return
    built = lib.build_replay(record, dataset=dataset, source=replay)
    _write_and_report(lib, built, out)


def _write_and_report(lib, built, out) -> None:
    """Write PNG + JSON, print a per-op table (how often each op applied in the figure) and the paths."""
    png = lib.write_preview(built, out)
    rows, cols = built.shape
    click.echo(f"{built.record['mode']} preview: {rows} images x {cols} columns, seed {built.record['seed']}, "
               f"{built.record['split']} split of {built.record['dataset']}")
    table = lib.applied_table(built)
    if table:
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        for row in table:
            click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    click.echo(f"wrote {png}")
    click.echo(f"wrote {lib.preview_json_path(png)}")
