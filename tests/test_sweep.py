"""The sweep CLI on two tiny images, the results file it writes, and the plots drawn from it."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import random_image, smooth_image
from leaderboard import sweep
from leaderboard.benchmarks import load_benchmark
from leaderboard.plots import quality_vs_cost
from leaderboard.results import COLUMNS, load_all


@pytest.fixture()
def hq_folder(tmp_path):
    folder = tmp_path / "hq"
    folder.mkdir()
    for i in range(2):
        smooth_image(48, 40, seed=i).save(folder / f"img{i}.png")
    (folder / "notes.txt").write_text("not an image, ignored")
    return folder


def test_sweep_writes_one_row_per_configuration(hq_folder, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "results" / "sweep.csv"
    code = sweep.main(["--methods", "resshift,bicubic", "--task", "sr_x4", "--nfe", "1,2", "--dataset",
                       str(hq_folder), "--limit", "2", "--checkpoint", tiny_checkpoint, "--out", str(out)])
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == COLUMNS
    assert sorted(zip(frame["method"], frame["nfe"])) == [("bicubic", 0), ("resshift", 1), ("resshift", 2)]
    assert set(frame["n_images"]) == {2} and set(frame["dataset"]) == {"hq"} and set(frame["lq_size"]) == {"12x10"}
    resshift = frame[frame["method"] == "resshift"].set_index("nfe")
    assert resshift.loc[2, "tflops"] == pytest.approx(2 * resshift.loc[1, "tflops"], rel=1e-6)  # measured, not declared
    assert resshift.loc[1, "tflops_per_nfe"] > 0 and resshift.loc[1, "params"] > 0
    assert (frame["seconds_per_image"] > 0).all() and (frame["source"] == "measured").all()
    assert frame["psnr_y"].notna().all() and frame["ssim_y"].notna().all()
    assert frame["ms_ssim"].isna().all() and frame["notes"].str.contains("ms_ssim").all()
    bicubic = frame[frame["method"] == "bicubic"].iloc[0]
    assert 0 < bicubic["tflops"] < 1e-6 and bicubic["checkpoint"] == "none"  # counted, tiny
    assert "wrote 3 rows" in capsys.readouterr().out

    # a second run replaces rows with the same key instead of duplicating them
    sweep.main(["--methods", "bicubic", "--dataset", str(hq_folder), "--out", str(out)])
    assert len(pd.read_csv(out)) == 3
    assert len(load_all(out.parent)) >= 3


def test_plots_have_one_trace_per_method(hq_folder, tiny_checkpoint):
    rows = sweep.run_sweep(["resshift", "bicubic"], "sr_x4", [1, 2], str(hq_folder), checkpoint=tiny_checkpoint,
                           progress=False)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    figure = quality_vs_cost(frame, "psnr_y", "nfe")
    names = [trace.name for trace in figure.data]
    assert names == ["bicubic", "resshift"]
    assert list(figure.data[1].x) == [1, 2]
    assert len(figure.layout.shapes) == 1  # bicubic (NFE 0) drawn as a level line on the log axis
    linear = quality_vs_cost(frame, "ssim_y", "tflops", log_x=False)
    assert len(linear.data[1].x) == 2 and linear.layout.xaxis.title.text.startswith("TFLOPs")
    empty = quality_vs_cost(frame.iloc[0:0], "psnr_y", "nfe")
    assert empty.layout.annotations[0].text == "no results for this selection"


def test_bad_arguments_fail_clearly(hq_folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        sweep.main(["--nfe", "0,2"])
    assert sweep.main(["--methods", "nope", "--dataset", str(hq_folder), "--out", str(tmp_path / "x.csv")]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert sweep.main(["--dataset", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images"):
        load_benchmark(str(empty))
    (empty / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    with pytest.raises(ValueError, match="broken.png"):
        load_benchmark(str(empty))


def test_saved_hf_dataset_is_a_benchmark(tmp_path):
    from datasets import Dataset, Features, Image as ImageFeature

    images = [smooth_image(40, 32, seed=i) for i in range(3)]
    Dataset.from_dict({"image": images}, features=Features({"image": ImageFeature()})).save_to_disk(tmp_path / "ds")
    bench = load_benchmark(str(tmp_path / "ds"), limit=2)
    assert bench.name == "ds" and len(bench.items) == 2 and bench.items[0][1].size == (40, 32)


def test_builtin_heldout_benchmark_is_offline():
    bench = load_benchmark(None, limit=3)
    assert bench.name == "heldout" and [im.size for _, im in bench.items] == [(256, 256)] * 3


def test_dpir_sweep_records_tau_and_sampler(tmp_path):
    """Rows of a tau sweep: DDPM at tau (NFE tau + 1), DDIM below tau, conventional from x_T (tau = T)."""
    from leaderboard.sweep import run_sweep, sweep_jobs
    from test_dpir_pipeline import small_pipeline

    assert sweep_jobs(["dpir", "bicubic"], [2, 8], [4]) == [("dpir", 2, 4), ("bicubic", None, None)]
    folder = tmp_path / "dpir"
    small_pipeline(tau=8).save_pretrained(folder, safe_serialization=True)
    bench = tmp_path / "bench"
    bench.mkdir()
    for i in range(2):
        random_image(40, 40, seed=i).save(bench / f"im{i}.png")
    jobs = [("dpir", 4, 4), ("dpir", 2, 4), ("ddpm", 3, None)]
    rows = run_sweep([], "sr_x4", None, str(bench), out=tmp_path / "r.csv", checkpoint=str(folder), jobs=jobs,
                     crop=32, progress=False)
    got = [(r["method"], r["tau"], r["sampler"], r["nfe"]) for r in rows]
    assert got == [("dpir", 4, "ddpm", 5), ("dpir", 4, "ddim", 3), ("ddpm", 1000, "ddim", 4)]
    assert all(r["dataset"] == "bench-crop32" for r in rows)


def test_results_files_write_counts_as_whole_numbers(tmp_path):
    """Merging a row whose step count is None (DP-IR's) into a shipped results file keeps every other row's counts
    whole ("4", not "4.0")."""
    import shutil

    from leaderboard.results import RESULTS_DIR, read_results, write_results

    path = tmp_path / "realsr_x4__heldout.csv"
    shutil.copy(RESULTS_DIR / path.name, path)
    row = read_results(path).query("method == 'dpir'").iloc[0].to_dict()
    write_results([{**row, "tau": 100, "steps": None}], path)
    merged = pd.read_csv(path, dtype=str)
    assert merged["steps"].dropna().str.fullmatch(r"\d+").all(), merged["steps"].dropna().tolist()
    assert merged["nfe"].str.fullmatch(r"\d+").all()
