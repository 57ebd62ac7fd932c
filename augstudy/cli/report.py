"""``augstudy report``: self-contained HTML + Markdown report of an ablation study.

Thin: parses options, then calls :func:`augstudy.report.build_report` or
:func:`augstudy.report.compare_studies` (imported inside the command so ``--help``
stays instant).
"""

from __future__ import annotations

import click


@click.command("report")
@click.argument("study_dirs", nargs=-1, metavar="STUDY_DIR...")
@click.option("--out", default=None, metavar="FILE",
              help="Output file (.html or .md; with --format both the other file takes the same name). "
                   "Default: STUDY_DIR/report.html and STUDY_DIR/report.md; with --compare, "
                   "compare-<factors>.html/.md beside the first study.")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "both"]), default="both", show_default=True,
              help="Write HTML (one self-contained file), Markdown (PNGs in <name>_files/), or both.")
@click.option("--open", "open_browser", is_flag=True, default=False,
              help="Open the HTML report in the default web browser afterwards (default: off).")
@click.option("--compare", is_flag=True, default=False,
              help="Put the arms of several studies (same baseline config, dataset and metric) on one "
                   "ranked table and forest plot (default: off).")
def report_command(study_dirs: tuple[str, ...], out: str | None, fmt: str, open_browser: bool, compare: bool) -> None:
    """Report a finished or still-running study: ranked effects, forest plot, learning curves,
    stability, per-class effects, policy previews and warnings.

    \b
    Examples:
      augstudy report reports/dropout-fashion-mnist-mini
      augstudy report reports/dropout-x --format md --out notes/dropout.md
      augstudy report --compare reports/dropout-x reports/augment-x --out reports/both.html
    """
    from augstudy.errors import UserError

    if not study_dirs:
        raise UserError("missing STUDY_DIR: give a study directory written by 'augstudy ablate' "
                        "(e.g. augstudy report reports/dropout-fashion-mnist-mini)")
    if open_browser and fmt == "md":
        raise UserError("--open needs the HTML report; drop --format md or use --format both")
    if compare:
        from augstudy.report import compare_studies

        paths = compare_studies(list(study_dirs), out, fmt)
    else:
        if len(study_dirs) > 1:
            raise UserError(f"got {len(study_dirs)} study directories; report one at a time, or add --compare "
                            "to put several on one table")
        from pathlib import Path

        from augstudy.report import build_report, output_paths, refuse_unsafe_targets
        from augstudy.ablation.storage.reader import load_study

        # A refused --out is refused before the table is printed, so the one error line stands alone.
        refuse_unsafe_targets(output_paths(Path(study_dirs[0]), out, fmt), [study_dirs[0]])
        study = load_study(study_dirs[0])
        _print_summary(study)
        paths = build_report(study_dirs[0], out, fmt)
    for kind in ("html", "md"):
        if kind in paths:
            click.echo(f"wrote {paths[kind]}")
    if "files_dir" in paths:
        click.echo(f"wrote {paths['files_dir']}/ (Markdown figures)")
    if open_browser:
        import webbrowser

        webbrowser.open(paths["html"].resolve().as_uri())


def _print_summary(study) -> None:
    """The ranked effect table on stdout, as ``augstudy ablate`` printed it, plus the progress
    notice for an unfinished study."""
    from augstudy.ablation.analysis.effect_table import format_effect_table

    notice = study.progress
    if notice:
        click.echo(f"note: {notice}")
    if not study.effect_rows:
        return
    click.echo(format_effect_table(study.effect_rows, study.meta.get("effect_header")), nl=False)
