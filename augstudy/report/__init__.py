"""Self-contained HTML and Markdown reports of ablation studies.

>>> from augstudy.report import build_report, compare_studies
>>> paths = build_report("reports/dropout-fashion-mnist-mini")      # report.html + report.md
>>> paths = compare_studies(["reports/dropout-x", "reports/augment-x"], "reports/compare.html")

Pipeline: :mod:`load` (the study directory's plain files, named by
:mod:`augstudy.ablate.schema`) -> :mod:`content` (numbers formatted, the effect table
rendered by :mod:`augstudy.ablate.effect_table`, figures by :mod:`figures`, findings
from :mod:`findings`) -> :mod:`html` / :mod:`markdown` (layout) -> atomic writes.
The report recomputes no statistic and never loads the dataset.
"""

from __future__ import annotations

from pathlib import Path

from augstudy.errors import UserError

FORMATS = ("html", "md", "both")


def output_paths(default_dir: Path, out: str | Path | None, fmt: str, stem: str = "report") -> dict[str, Path]:
    """Where the report goes: ``{"html": ..., "md": ...}`` for the formats asked.

    ``out`` None -> ``default_dir/<stem>.html|.md``; with ``fmt="both"`` the other
    file takes ``out``'s name with the other suffix.
    """
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if out is None:
        html, md = Path(default_dir) / f"{stem}.html", Path(default_dir) / f"{stem}.md"
    else:
        out = Path(out)
        if out.is_dir():
            raise UserError(f"--out {out}: is a directory; give a file name such as {out / (stem + '.html')}")
        suffix = out.suffix.lower()
        if suffix == ".md":
            html, md = out.with_suffix(".html"), out
        elif suffix in (".html", ".htm"):
            html, md = out, out.with_suffix(".md")
        elif fmt != "both":  # one format: the file name the user gave, verbatim
            html = md = out
        else:
            html, md = out.with_name(out.name + ".html"), out.with_name(out.name + ".md")
    return {k: v for k, v in (("html", html), ("md", md)) if fmt in (k, "both")}


def write_report(content, paths: dict[str, Path]) -> dict[str, Path]:
    """Write ``content`` to ``paths`` atomically; the Markdown's PNGs go to ``<md stem>_files/``."""
    from augstudy.atomic import atomic_write_bytes, atomic_write_text
    from augstudy.report.html import render_html
    from augstudy.report.markdown import figure_filename, render_markdown

    written: dict[str, Path] = {}
    if "md" in paths:
        md_path = paths["md"]
        files_dir = md_path.parent / f"{md_path.stem}_files"
        for fig in content.figures():
            atomic_write_bytes(files_dir / figure_filename(fig), fig.png)
        written["md"] = atomic_write_text(md_path, render_markdown(content, files_dir.name))
        written["files_dir"] = files_dir
    if "html" in paths:
        written["html"] = atomic_write_text(paths["html"], render_html(content))
    return written


def build_report(study_dir: str | Path, out: str | Path | None = None, fmt: str = "both") -> dict[str, Path]:
    """Render the report of one (finished or running) study directory.

    Args:
        study_dir: a folder written by ``augstudy ablate`` (has study.json).
        out: output file (``.html`` or ``.md``; the other format takes the same name);
            default ``study_dir/report.html`` and ``study_dir/report.md``.
        fmt: ``"html"``, ``"md"`` or ``"both"``.
    Returns:
        ``{"html": Path, "md": Path, "files_dir": Path}`` (only the formats written).
    Raises:
        UserError: missing directory, no study.json, unreadable files, bad ``fmt``.
    """
    from augstudy.report.content import study_content
    from augstudy.report.load import load_study

    paths = output_paths(Path(study_dir), out, fmt)
    study = load_study(study_dir)
    return write_report(study_content(study), paths)


def compare_studies(dirs: list[str | Path], out: str | Path | None = None, fmt: str = "both") -> dict[str, Path]:
    """One ranked table and forest plot over several studies that share a baseline.

    Default output: ``compare-<factor1>-<factor2>...html|.md`` beside the first study directory.
    Raises :class:`UserError` (naming the differing field) when baselines, datasets or metrics differ.
    Returns ``{"html": Path, "md": Path, "files_dir": Path}`` (only the formats written).
    """
    from augstudy.report.compare import compare_content
    from augstudy.report.load import load_study

    studies = [load_study(d) for d in dirs]
    content = compare_content(studies)
    stem = "compare-" + "-".join(s.factor for s in studies)
    paths = output_paths(Path(dirs[0]).resolve().parent, out, fmt, stem=stem)
    return write_report(content, paths)


__all__ = ["build_report", "compare_studies", "output_paths", "write_report", "FORMATS"]
