"""``augstudy measure``: throughput per backend, pixel-statistics shift, no-ops and affinity of a policy.

Thin: parses options, then calls :func:`augstudy.measure.measure_policy` (imported inside the
command so ``--help`` stays instant).
"""

from __future__ import annotations

import click

_BACKENDS = "torchvision,kornia,albumentations,augstudy"


@click.command("measure")
@click.option("--policy", "policy_spec", required=True, metavar="NAME",
              help="Policy: a preset (none, light, medium, heavy, final) or a policy YAML/JSON file.")
@click.option("--data", default=None, metavar="PATH",
              help="Dataset. Default: data/tiny-imagenet-200 if present, else the embedded data/fashion-mnist-mini.")
@click.option("--backends", default=_BACKENDS, show_default=True, metavar="LIST",
              help="Comma-separated backends to time on identical inputs and draws.")
@click.option("--model", "model_path", default=None, metavar="CKPT",
              help="Checkpoint of the fixed CNN trained WITHOUT augmentation, for affinity "
                   "(default: none; affinity is then skipped with a note on how to get one).")
@click.option("--n", type=click.IntRange(min=1), default=512, show_default=True,
              help="Validation images measured (capped at the split size).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the augmentation draws.")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="torch CPU threads (0 = torch's default). 1 is fastest for the per-image backends on a busy machine.")
@click.option("--json", "as_json", is_flag=True, default=False,
              help="Print ONE JSON object on stdout and nothing else (file paths go to stderr).")
@click.option("--equivalence", is_flag=True, default=False,
              help="Also print the cross-backend equivalence table (max/mean abs diff vs torchvision per op).")
@click.option("--out", "out_dir", default="reports", show_default=True, metavar="DIR",
              help="Folder for measure-<policy>.json and measure-<policy>.csv.")
def measure_command(policy_spec, data, backends, model_path, n, seed, threads, as_json, equivalence, out_dir) -> None:
    """Measure a policy and each op: img/s per backend, pixel-stat shift, SSIM/PSNR, no-ops, affinity."""
    import json

    import torch

    from augstudy.measure import format_result, measure_policy, write_result

    if threads:
        torch.set_num_threads(threads)

    def log(message: str) -> None:
        click.echo(message, err=True)

    result = measure_policy(policy_spec, data=data, backends=backends, model_path=model_path, n=n, seed=seed,
                            equivalence=equivalence, log=log)
    json_path, csv_path = write_result(result, out_dir)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        click.echo(format_result(result))
    click.echo(f"wrote {json_path}", err=as_json)
    click.echo(f"wrote {csv_path}", err=as_json)
