"""augstudy report: content checked against the study files, not against hard-coded output.

Study directories come from ``report_study_factory.make_study`` (synthetic, contract format,
effects computed by the real statistics engine) and, in one slow test, from a real tiny
``run_study``.  HTML is parsed with the standard library's HTMLParser.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augstudy.errors import UserError
from augstudy.report import build_report, compare_studies, output_paths
from report_study_factory import make_study
from study_helpers import read_csv, rewrite_csv


# ----------------------------------------------------------------------------- helpers
class ReportParser(HTMLParser):
    """Collects tables (by id: list of rows of cell texts, with each row's class), images,
    hrefs, element ids and tag names."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[tuple[str, list[str]]]] = {}
        self.headers: dict[str, list[str]] = {}
        self.images: list[str] = []
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.text: list[str] = []
        self._table = None
        self._row = None
        self._cell = None
        self._anon = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("a", "link") and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "table":
            self._anon += 1
            self._table = a.get("id") or f"table{self._anon}"
            self.tables[self._table] = []
            self.headers[self._table] = []
        elif tag == "tr" and self._table:
            self._row = (a.get("class", ""), [])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            if tag == "th":
                self.headers[self._table].append(text)
            elif self._row is not None:
                self._row[1].append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row[1]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_html(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def decode_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # raises on a truncated or corrupt file
    assert image.format == "PNG"
    assert image.width > 20 and image.height > 20
    return image


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("study") / "augment-fmnist", diverged=None,
                      data_check=[{"severity": "warning", "check": "duplicates", "message": "3 train images repeat in val"}])


@pytest.fixture(scope="module")
def rendered(study) -> dict[str, Path]:
    return build_report(study)


# ----------------------------------------------------------------------------- full study
def test_report_files_default_paths(study, rendered):
    assert rendered["html"] == study / "report.html"
    assert rendered["md"] == study / "report.md"
    assert rendered["files_dir"] == study / "report_files"
    assert not list(study.glob(".*.tmp")), "atomic writes left temporaries behind"


def _signed(text: str) -> float:
    return float(text.rstrip("*"))


def _interval(text: str) -> tuple[float, float]:
    low, high = text.strip("[]").split(", ")
    return float(low), float(high)


def test_effect_table_has_every_arm_with_the_numbers_of_effects_csv(study, rendered):
    from augstudy.ablation.analysis.effect_table import DISPLAY_COLUMNS

    page = parse_html(rendered["html"])
    header = page.headers["effects-table"]
    assert header == list(DISPLAY_COLUMNS)   # the same columns as the terminal table and effects.md
    rows = {cells[header.index("arm")]: (cls, cells) for cls, cells in page.tables["effects-table"]}
    effects = read_csv(study / "effects.csv")
    assert len(effects) == 3
    for row in effects:
        assert row["arm"] in rows, f"arm {row['arm']} missing from the HTML table"
        cls, cells = rows[row["arm"]]
        assert _signed(cells[header.index("effect (pts)")]) == pytest.approx(float(row["effect_mean"]), abs=0.005)
        assert cells[header.index("effect (pts)")].endswith("*") == (row["significant"] == "True")
        low, high = _interval(cells[header.index("interval (level)")].rsplit(" ", 1)[0])
        assert (low, high) == (pytest.approx(float(row["ci_low"]), abs=0.005), pytest.approx(float(row["ci_high"]), abs=0.005))
        assert float(cells[header.index("p adj")]) == pytest.approx(float(row["p_adjusted"]), abs=1e-3)
        assert float(cells[header.index("P(>base) [95%]")].split()[0]) == pytest.approx(float(row["p_improve"]), abs=0.005)
        assert float(cells[header.index("metric")].split(" ± ")[0]) == pytest.approx(float(row["metric_mean"]), abs=0.005)
        assert int(cells[header.index("rank")]) == int(row["rank"])
        assert int(cells[header.index("n")]) == int(row["n_seeds"])
        # the verdict is effects.csv's, shown as stored; its colour follows it
        assert cells[header.index("verdict")] == row["verdict"]
        assert cls == {"better": "better", "worse": "worse"}.get(row["verdict"], "noise"), (row["arm"], cls)
    # ranked order: rank 1 first after the baseline reference row
    ranks = [cells[0] for _, cells in page.tables["effects-table"]]
    assert ranks[0] == "" and ranks[1:] == sorted(ranks[1:], key=int)
    assert "baseline" in page.tables["effects-table"][0][0]


def test_report_shows_the_stored_verdict_and_never_recomputes_it(tmp_path):
    """A verdict edited in effects.csv is what the report shows (it formats, it does not decide)."""
    path = make_study(tmp_path / "s", previews=False, epochs=2)
    table = read_csv(path / "effects.csv")
    table[0]["verdict"] = "equivalent"
    rewrite_csv(path / "effects.csv", table)
    page = parse_html(build_report(path, fmt="html")["html"])
    header = page.headers["effects-table"]
    shown = {cells[header.index("arm")]: (cls, cells) for cls, cells in page.tables["effects-table"]}
    cls, cells = shown[table[0]["arm"]]
    assert cells[header.index("verdict")] == "equivalent" and cls == "noise"


def test_report_summary_prints_the_terminal_table_of_ablate(cli_runner, study):
    from augstudy.ablation.analysis.effect_table import format_effect_table
    from augstudy.ablation.storage.schema import read_effects_csv
    import json

    meta = json.loads((study / "study.json").read_text())
    result = cli_runner("report", str(study), "--format", "html", "--out", str(study / "summary.html"))
    assert result.exit_code == 0, result.output
    expected = format_effect_table(read_effects_csv(study / "effects.csv"), meta["effect_header"])
    assert expected in result.output


def test_noise_floor_and_header(study, rendered):
    import json

    meta = json.loads((study / "study.json").read_text())
    page = parse_html(rendered["html"])
    floor = {cells[0]: cells[1] for _, cells in page.tables["noise-floor"]}
    assert floor["Baseline std across seeds"].startswith(f"{meta['noise_floor']['baseline_std']:.2f}")
    assert floor["Minimum detectable effect"].startswith(f"{meta['noise_floor']['mde']:.2f}")
    assert "p-value floor (exact sign-flip)" not in floor   # the old sign-flip rule no longer decides
    text = " ".join(page.text)
    for line in meta["effect_header"]:                       # the stored header, formatted, not recomputed
        assert line in text
    for fact in (meta["factor"], meta["dataset"], meta["git_commit"], "torch 2.14.1", "final_val_acc", "5m 12s"):
        assert fact in text


def test_every_image_is_an_embedded_decodable_png(rendered):
    page = parse_html(rendered["html"])
    # forest, curves, stability, heatmap, three stored previews (baseline, crop, jitter; "heavy" has none)
    assert len(page.images) == 7
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        decode_png(base64.b64decode(src.split(",", 1)[1], validate=True))
    text = rendered["html"].read_text()
    assert "no preview" in text


def test_html_is_self_contained_with_working_toc(rendered):
    page = parse_html(rendered["html"])
    html_text = rendered["html"].read_text()
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html_text)
    assert "@import" not in html_text and "url(" not in html_text
    anchors = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert {"effects", "curves", "stability", "per-class", "previews", "warnings"} <= set(anchors)
    assert all(a in page.ids for a in anchors), "a table-of-contents link points nowhere"


def test_per_class_section_has_bh_q_values_matching_the_statistics(study, rendered):
    from augstudy.ablation.analysis.stats import per_class_effects

    page = parse_html(rendered["html"])
    assert "per-class" in page.ids
    # recompute the crop arm's per-class effects straight from class_metrics.csv
    rows = read_csv(study / "class_metrics.csv")
    last = max(int(r["epoch"]) for r in rows)
    acc: dict[str, dict[int, np.ndarray]] = {}
    for r in rows:
        if int(r["epoch"]) == last:
            acc.setdefault(r["arm"], {}).setdefault(int(r["seed"]), np.zeros(10))[int(r["class_index"])] = float(r["val_acc"])
    expected = {e["class"]: e for e in per_class_effects(acc["augment=crop"], acc["augment=none"],
                                                         [f"class_{i:03d}" for i in range(10)])}
    hurt = page.tables["hurt-augment-crop"]
    helped = page.tables["helped-augment-crop"]
    header = page.headers["hurt-augment-crop"]
    assert "BH q" in header
    assert hurt, "crop hurts class_000 in the synthetic study"
    assert hurt[0][1][0] == "class_000"  # the most hurt class first
    for _, cells in hurt + helped:
        truth = expected[cells[0]]
        assert float(cells[header.index("Change (pts)")]) == pytest.approx(truth["effect_mean"], abs=0.005)
        assert float(cells[header.index("BH q")]) == pytest.approx(truth["q_value"], abs=1e-3)
        assert float(cells[header.index("BH q")]) >= float(cells[header.index("p")]) - 1e-9
        assert cells[header.index("Significant")] == ("yes" if truth["significant"] else "no")
    md = rendered["md"].read_text()
    assert "## Per-class effects" in md and "BH q" in md


def test_markdown_links_existing_pngs(rendered):
    md = rendered["md"].read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 7
    for link in links:
        assert link.startswith("report_files/")
        path = rendered["md"].parent / link
        assert path.is_file(), link
        decode_png(path.read_bytes())
    assert "▲ better" in md and "▼ worse" in md and "· equivalent" in md


def test_warnings_name_underpowered_grayscale_and_data_check(rendered):
    md = rendered["md"].read_text()
    # jitter's -0.2 points is shown equivalent (inside +-1 point): a verdict, so not underpowered
    assert re.search(r"\| augment=jitter \| \d+ \| -0\.\d\d \|[^\n]*· equivalent", md)
    assert "underpowered**: augment=jitter" not in md
    assert "grayscale-noop**: augment=jitter: ColorJitter saturation=0.4, ColorJitter hue=0.1" in md
    assert "crop: RandomCrop" not in md  # geometric ops are not flagged
    assert "[warning] duplicates: 3 train images repeat in val" in md


# ----------------------------------------------------------------------------- partial and odd studies
def test_partial_study_reports_what_is_missing(tmp_path):
    study = make_study(tmp_path / "running", finished_runs=5, diverged=("crop", 1))
    paths = build_report(study)
    html_text = paths["html"].read_text()
    md = paths["md"].read_text()
    for text in (html_text, md):
        assert "5 of 12 runs finished; effects are provisional" in text
        assert "augment=crop seed 1 diverged at epoch 4" in text
    page = parse_html(paths["html"])
    assert "notice" in page.ids
    for src in page.images:
        decode_png(base64.b64decode(src.split(",", 1)[1]))


def test_study_without_effects_yet(tmp_path):
    study = make_study(tmp_path / "early", finished_runs=1)
    assert not (study / "effects.csv").exists()
    paths = build_report(study, fmt="html")
    assert set(paths) == {"html"}
    text = paths["html"].read_text()
    assert "1 of 12 runs finished; no effects computed yet (effects.csv is missing)" in text
    assert "No per-class effects yet" in text


def test_grayscale_check_uses_fraction_and_dataset_name(tmp_path):
    import json

    from augstudy.ablation.storage.reader import load_study
    from augstudy.report.findings import collect_findings

    study = make_study(tmp_path / "rgb", dataset="tiny-imagenet-200", previews=False)
    kinds = {f.kind for f in collect_findings(load_study(study))}
    assert "grayscale-noop" not in kinds
    meta = json.loads((study / "study.json").read_text())
    meta["grayscale_fraction"] = 1.0
    (study / "study.json").write_text(json.dumps(meta))
    found = [f for f in collect_findings(load_study(study)) if f.kind == "grayscale-noop"]
    assert [f.arm for f in found] == ["augment=jitter"]


def test_grayscale_noop_fields_follow_the_policy_neutral_jitter_rule():
    from augstudy.report.findings import color_only_ops

    def found(**params):
        return color_only_ops({"ops": [{"op": "ColorJitter", "p": 1.0, **params}]})

    assert found(saturation=[1.0, 1.0], hue=[0.0, 0.0]) == []          # ranges pinned at the neutral value
    assert found(saturation=0.0, hue=0.0, brightness=0.4) == []         # brightness works on gray too
    assert found(saturation=[1.2, 1.2]) == ["ColorJitter saturation=[1.2, 1.2]"]   # constant, not neutral
    assert found(saturation=[0.8, 1.2], hue=0.1) == ["ColorJitter saturation=[0.8, 1.2]", "ColorJitter hue=0.1"]
    assert found(saturation=None, hue="x") == []
    assert color_only_ops({"ops": [{"op": "ColorJitter", "p": 0.0, "hue": 0.1}]}) == []


def test_many_classes_heatmap_shows_the_most_changed(tmp_path):
    from augstudy.report.figures import class_heatmap, select_heatmap_classes
    from augstudy.ablation.storage.reader import load_study
    study = load_study(make_study(tmp_path / "wide", n_classes=200, epochs=2, previews=False))
    per_class = study.class_effects
    assert per_class["class_index"].nunique() == 200
    shown = select_heatmap_classes(per_class, 30)
    assert len(shown) == 30 and shown == sorted(shown)
    # class 0 is the one the helpful "crop" arm hurts (the factory's class-dependent effect): it must
    # be shown although the "heavy" arm's uniform -6 pts changes are larger in absolute size
    crop = per_class[per_class["arm"] == "augment=crop"].set_index("class_index")["effect_mean"]
    assert crop.idxmin() == 0 and 0 in shown
    heavy = per_class[per_class["arm"] == "augment=heavy"]
    assert heavy["effect_mean"].abs().max() > abs(crop[0])
    decode_png(class_heatmap(per_class, study.arm_names))


def test_stored_previews_are_embedded_and_missing_ones_named(tmp_path, monkeypatch):
    """The report shows the PNGs ablate drew, under the schema's safe names, and never loads a dataset."""
    import augstudy.data
    from augstudy.ablation.storage.schema import StudyPaths
    from augstudy.ablation.storage.reader import load_study
    from augstudy.report.previews import preview_arms, preview_png

    def no_dataset(*args, **kwargs):
        raise AssertionError("the report must not load the dataset")

    monkeypatch.setattr(augstudy.data, "load_dataset", no_dataset)
    path = make_study(tmp_path / "prev", n_classes=10, epochs=2)
    study = load_study(path)
    # the rule ablate draws by (baseline first); "heavy" has no file
    assert preview_arms(study) == ["augment=none", "augment=crop", "augment=jitter", "augment=heavy"]
    png, note = preview_png(study, "augment=crop")
    assert png == StudyPaths(path).preview("augment=crop").read_bytes()
    png, note = preview_png(study, "augment=heavy")
    assert png is None and "augment=heavy.png is missing" in note and "augstudy ablate" in note
    # an arm name with a path in it: the writer's file name is the reader's
    StudyPaths(path).preview("augment=policies/my.yaml").write_bytes(b"png")
    assert StudyPaths(path).preview("augment=policies/my.yaml").name == "augment=policies_my.yaml.png"
    assert study.preview_path("augment=policies/my.yaml") is not None


# ----------------------------------------------------------------------------- outputs and atomicity
def test_out_and_format_options(tmp_path, study):
    assert output_paths(study, None, "both") == {"html": study / "report.html", "md": study / "report.md"}
    assert output_paths(study, tmp_path / "r.md", "both") == {"html": tmp_path / "r.html", "md": tmp_path / "r.md"}
    assert output_paths(study, tmp_path / "r.html", "html") == {"html": tmp_path / "r.html"}
    with pytest.raises(UserError, match="--format"):
        output_paths(study, None, "pdf")
    with pytest.raises(UserError, match="is a directory"):
        output_paths(study, tmp_path, "both")
    paths = build_report(study, out=tmp_path / "notes" / "dropout.md", fmt="md")
    assert set(paths) == {"md", "files_dir"}
    assert paths["files_dir"] == tmp_path / "notes" / "dropout_files"
    assert "](dropout_files/forest.png)" in paths["md"].read_text()


def test_crash_while_rendering_keeps_the_old_report(tmp_path, monkeypatch):
    import augstudy.report.html as report_html

    study = make_study(tmp_path / "s", previews=False, epochs=2)
    first = build_report(study, fmt="html")["html"]
    before = first.read_bytes()

    def boom(content):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(report_html, "render_html", boom)
    with pytest.raises(RuntimeError):
        build_report(study, fmt="html")
    assert first.read_bytes() == before
    assert not [p for p in study.iterdir() if p.name.endswith(".tmp")]


def test_bad_study_dirs_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"no such study directory; run 'augstudy ablate"):
        build_report(tmp_path / "missing")
    with pytest.raises(UserError, match=r"not a study directory \(no study.json\); run 'augstudy ablate"):
        build_report(tmp_path)
    (tmp_path / "study.json").write_text("{not json")
    with pytest.raises(UserError, match="study.json: not valid JSON"):
        build_report(tmp_path)
    (tmp_path / "study.json").write_text("{}")
    (tmp_path / "runs.csv").write_text("arm,seed\nx,0\n")
    with pytest.raises(UserError, match=r"runs.csv: missing column\(s\) status"):
        build_report(tmp_path)


# ----------------------------------------------------------------------------- compare
def test_compare_puts_all_arms_on_one_table(tmp_path):
    a = make_study(tmp_path / "augment", seed=1, previews=False, epochs=3)
    b = make_study(tmp_path / "dropout", factor="dropout", seed=2, previews=False, epochs=3,
                   arms=[("0.3", 0.0, None), ("0.5", -1.0, None), ("0.0", 0.5, None)])
    paths = compare_studies([a, b], tmp_path / "both.html")
    page = parse_html(paths["html"])
    header = page.headers["effects-table"]
    shown = {cells[header.index("arm")]: cells for _, cells in page.tables["effects-table"]}
    expected = read_csv(a / "effects.csv") + read_csv(b / "effects.csv")
    for row in expected:
        assert _signed(shown[row["arm"]][header.index("effect (pts)")]) == pytest.approx(float(row["effect_mean"]), abs=0.005)
    # ranked across studies by the mean effect, as each study ranks its own arms
    ranks = [int(shown[r["arm"]][0]) for r in sorted(expected, key=lambda r: (int(r["n_seeds"]) < 2,
                                                                              -float(r["effect_mean"])))]
    assert ranks == list(range(1, len(expected) + 1))
    assert len(page.images) == 1  # one forest plot
    decode_png(base64.b64decode(page.images[0].split(",", 1)[1]))
    assert (tmp_path / "both.md").is_file()


def test_compare_refuses_different_baselines(tmp_path):
    a = make_study(tmp_path / "a", previews=False, epochs=2)
    b = make_study(tmp_path / "b", previews=False, epochs=2, baseline_hash="other")
    c = make_study(tmp_path / "c", previews=False, epochs=2, dataset="tiny-imagenet-200")
    with pytest.raises(UserError, match=r"baseline config_hash differs \(base0001 vs other\)"):
        compare_studies([a, b], tmp_path / "x.html")
    with pytest.raises(UserError, match=r"dataset differs \(fashion-mnist-mini vs tiny-imagenet-200\)"):
        compare_studies([a, c], tmp_path / "x.html")
    with pytest.raises(UserError, match="two or more"):
        compare_studies([a], tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


# ----------------------------------------------------------------------------- CLI
def test_cli_report_in_process(cli_runner, tmp_path):
    study = make_study(tmp_path / "s", previews=False, epochs=2)
    result = cli_runner("report", str(study))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {study / 'report.html'}" in result.stdout
    assert f"wrote {study / 'report.md'}" in result.stdout
    for row in read_csv(study / "effects.csv"):
        assert re.search(rf"^\s*{row['rank']}\s+{re.escape(row['arm'])}\s+\d+\s+"
                         rf"{re.escape(format(float(row['effect_mean']), '+.2f'))}\*?\s",
                         result.stdout, re.M)
    md_only = cli_runner("report", str(study), "--format", "md", "--out", str(tmp_path / "o.md"))
    assert md_only.exit_code == 0 and (tmp_path / "o.md").is_file() and not (tmp_path / "o.html").exists()


def test_cli_open_uses_the_browser(cli_runner, tmp_path, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    study = make_study(tmp_path / "s", previews=False, epochs=2)
    result = cli_runner("report", str(study), "--format", "html", "--open")
    assert result.exit_code == 0, result.stderr
    assert opened == [(study / "report.html").resolve().as_uri()]
    refused = cli_runner("report", str(study), "--format", "md", "--open")
    assert refused.exit_code != 0 and "--open needs the HTML report" in refused.stderr


def test_cli_errors_are_one_line(cli_runner, tmp_path):
    a = make_study(tmp_path / "a", previews=False, epochs=2)
    b = make_study(tmp_path / "b", previews=False, epochs=2, baseline_hash="zzz")
    cases = [
        (("report", str(tmp_path / "nope")), "no such study directory; run 'augstudy ablate"),
        (("report", str(tmp_path)), "not a study directory (no study.json)"),
        (("report",), "missing STUDY_DIR"),
        (("report", str(a), str(b)), "add --compare"),
        (("report", "--compare", str(a), str(b)), "baseline config_hash differs"),
    ]
    for args, message in cases:
        result = cli_runner(*args)
        assert result.exit_code != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_console_script(run_console, tmp_path):
    study = make_study(tmp_path / "s", previews=False, epochs=2)
    ok = run_console("report", str(study), "--format", "html")
    assert ok.returncode == 0, ok.stderr
    assert (study / "report.html").is_file() and not (study / "report.md").exists()
    bad = run_console("report", str(tmp_path / "missing"))
    assert bad.returncode != 0
    assert bad.stderr.strip().startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    helped = run_console("report", "--help")
    assert helped.returncode == 0 and "--compare" in helped.stdout


def test_cli_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, augstudy.cli.report; "
            "print(sorted(m for m in ('torch','numpy','pandas','matplotlib','scipy','seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- real study
@pytest.mark.slow
def test_real_tiny_study_renders(tmp_path, mini_dataset):
    """A real (tiny) flip ablation by the runner, rendered by its own end-of-study build_report call."""
    from augstudy.ablation.runner import run_study

    # one optimizer step per run: the fixed 25.9 M-parameter CNN is the slow part on 2 cores
    tiny = {"data": {"train_subset": 16, "val_subset": 20}, "train": {"epochs": 1, "batch_size": 16,
                                                                      "eval_batch_size": 20}}
    out = tmp_path / "flip"
    result = run_study("flip", seeds=2, budget="smoke", dataset=mini_dataset, device="cpu", out=out,
                       budget_override=tiny, prune_checkpoints=True, echo=lambda *_: None)
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    page = parse_html(out / "report.html")
    header = page.headers["effects-table"]
    shown = {cells[header.index("arm")]: cells for _, cells in page.tables["effects-table"]}
    effects = read_csv(out / "effects.csv")
    assert effects
    for row in effects:
        assert _signed(shown[row["arm"]][header.index("effect (pts)")]) == pytest.approx(float(row["effect_mean"]), abs=0.005)
    for src in page.images:
        decode_png(base64.b64decode(src.split(",", 1)[1]))
    assert len(page.images) >= 4  # forest, curves, stability, heatmap (+ previews the runner wrote)
    # the runner checked the dataset once and the report lists its findings
    import json as _json

    findings = _json.loads((out / "study.json").read_text())["data_check"]
    assert isinstance(findings, list) and (out / "data_check.json").is_file()
    kinds = {f["kind"] for f in findings}
    assert "near_duplicate" in kinds  # the embedded subset has val images near train ones (see data check)
    assert "nearly duplicate" in (out / "report.html").read_text()
    # both flip arms keep the final policy's ColorJitter: one grouped grayscale no-op warning
    html = (out / "report.html").read_text()
    assert html.count("change nothing on grayscale") == 1 and "all 2 arms: ColorJitter saturation" in html
    assert _json.loads((out / "study.json").read_text())["grayscale_fraction"] == 1.0
    assert result.complete
