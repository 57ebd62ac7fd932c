"""``augstudy.progress``: a tqdm bar on stderr with ETA, silenced by AUGSTUDY_NO_PROGRESS."""

from __future__ import annotations

import io

from augstudy.progress import progress, progress_disabled


def test_disabled_by_env_and_still_counts(monkeypatch):
    monkeypatch.setenv("AUGSTUDY_NO_PROGRESS", "1")
    assert progress_disabled()
    bar = progress(total=10, desc="x")
    assert bar.disable
    bar.update(3)
    bar.close()
    assert list(progress(range(4))) == [0, 1, 2, 3]


def test_enabled_bar_writes_eta_to_stderr(monkeypatch):
    monkeypatch.setenv("AUGSTUDY_NO_PROGRESS", "0")
    assert not progress_disabled()
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with progress(50, desc="decode", unit="img") as bar:  # an int is the total
        assert bar.total == 50
        bar.update(50)
        bar.refresh()  # tqdm throttles redraws; force one
    text = err.getvalue()
    assert "decode" in text and "50/50" in text and "img/s" in text and "<" in text  # elapsed<remaining
