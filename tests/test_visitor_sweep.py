"""A visitor's sweep: every bad request refused in one sentence, a good one measured as theirs and never shipped."""

from __future__ import annotations

import zipfile

import pytest

from conftest import smooth_image
from leaderboard import sweep_panel, visitor_sweep
from leaderboard.results import RESULTS_DIR
from leaderboard.serving import RequestError


def photos(folder, count=3, size=(64, 48)):
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i}.png"
        smooth_image(*size, seed=i).save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("args, sentence", [
    (("sr_x4", [], "", "heldout", None, "hq", 2), "Tick at least one method"),
    (("sr_x4", ["resshift"], "0,2", "heldout", None, "hq", 2), "step counts must be positive"),
    (("sr_x4", ["resshift"], "two", "heldout", None, "hq", 2), "comma-separated integers"),
    (("sr_x4", ["nope"], "", "heldout", None, "hq", 2), "nope is not offered"),
    (("sr_x4", ["resshift"], "", "upload", None, "hq", 2), "Upload your images first"),
    (("sr_x4", ["resshift"], "", "heldout", None, "hq", 40), "from 1 to 16"),
    (("sr_x4", ["resshift"], "", "nowhere", None, "hq", 2), "Choose a benchmark"),
    (("no_task", ["resshift"], "", "heldout", None, "hq", 2), "no_task"),
])
def test_bad_requests_get_one_sentence(args, sentence):
    with pytest.raises(RequestError, match=sentence) as caught:
        visitor_sweep.parse(*args)
    assert "/" not in str(caught.value).replace("1/", "")  # no server path


def test_uploads_are_photos_or_pairs_matched_by_name(tmp_path):
    clean = photos(tmp_path / "clean")
    sweep = visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", clean, "hq", 2)
    assert [name for name, *_ in sweep.pairs] == ["photo0", "photo1"] and sweep.dataset == "your 2 photos"
    assert sweep.pairs[0][2].size == (16, 12)  # the task degraded the clean photo (x4)

    archive = tmp_path / "pairs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for i in range(2):
            lq, hq = tmp_path / f"l{i}.png", tmp_path / f"h{i}.png"
            smooth_image(16, 12, seed=i).save(lq)
            smooth_image(64, 48, seed=i).save(hq)
            handle.write(lq, f"lq/shot{i}.png")
            handle.write(hq, f"hq/shot{i}.png")
    sweep = visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", [str(archive)], "pairs", 4)
    assert [name for name, *_ in sweep.pairs] == ["shot0", "shot1"] and sweep.pairs[0][2].size == (16, 12)

    lonely = tmp_path / "alone_lq.png"
    smooth_image(16, 12).save(lonely)
    with pytest.raises(RequestError, match="alone has no HQ partner"):
        visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", [str(lonely)], "pairs", 4)
    with pytest.raises(RequestError, match="is not marked as LQ or HQ"):
        visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", clean, "pairs", 4)
    wrong = tmp_path / "alone_hq.png"
    smooth_image(60, 48).save(wrong)
    with pytest.raises(RequestError, match="needs 4x the LQ"):
        visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", [str(lonely), str(wrong)], "pairs", 4)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(RequestError, match="broken.png"):
        visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", [str(broken)], "hq", 4)
    (tmp_path / "not.zip").write_bytes(b"PK nonsense")
    with pytest.raises(RequestError, match="not a readable zip"):
        visitor_sweep.parse("sr_x4", ["bicubic"], "", "upload", [str(tmp_path / "not.zip")], "hq", 4)
    with pytest.raises(RequestError, match="needs a mask with each pair"):
        visitor_sweep.parse("inpaint", ["telea"], "", "upload", clean, "pairs", 4)


def test_a_sweep_too_long_for_the_demo_is_refused_with_its_command_line(monkeypatch):
    monkeypatch.setattr(visitor_sweep, "BUDGET_SECONDS", 1.0)  # a machine's speed must not decide the test
    sweep = visitor_sweep.parse("sr_x4", ["resshift", "dpir"], "1,2,4", "heldout512", None, "hq", 16)
    with pytest.raises(RequestError, match="run it from the command line instead") as caught:
        visitor_sweep.check_budget(sweep)
    assert "python -m leaderboard.sweep --task sr_x4 --methods dpir,resshift --nfe 1,2,4 --dataset heldout512 " \
           "--limit 16" in str(caught.value)


def test_the_visitors_rows_are_theirs_and_never_shipped(tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in RESULTS_DIR.iterdir()}
    clean = photos(tmp_path / "mine", 2)
    sweep = visitor_sweep.parse("sr_x4", ["resshift", "bicubic"], "1", "upload", clean, "hq", 2)
    visitor_sweep.check_budget(sweep)
    events = list(visitor_sweep.run(sweep, None))
    done, total, left, rows = events[-1]
    assert (done, total, left) == (4, 4, 0) and [e[0] for e in events] == sorted(e[0] for e in events)
    assert [(r["method"], r["nfe"], r["source"], r["dataset"]) for r in rows] == [
        ("resshift", 1, "yours", "your 2 photos"), ("bicubic", 0, "yours", "your 2 photos")]
    assert all(r["n_images"] == 2 and r["psnr_y"] > 10 and r["weights"] for r in rows)
    assert {p.name: p.stat().st_mtime_ns for p in RESULTS_DIR.iterdir()} == before
    csv = sweep_panel.rows_csv(rows, None)
    assert open(csv).readline().startswith("method,checkpoint,task,dataset,nfe,tau")
    api_rows = sweep_panel.api_sweep("sr_x4", "bicubic", "", "upload", 2, clean, "hq")
    assert api_rows[0]["psnr_y"] == pytest.approx(rows[1]["psnr_y"]) and api_rows[0]["source"] == "yours"
