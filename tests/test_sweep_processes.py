"""A sweep past one process, and a sweep that survives SIGKILL: the merged or resumed rows are the plain ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import smooth_image
from leaderboard import sweep
from leaderboard.image_scores import PartialScores
from leaderboard.results import KEY, read_results
from leaderboard.sharding import my_share

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ["n_images", "lq_size", "tflops", "tflops_256", "tflops_720p", "params", "psnr_y", "ssim_y", "gmsd",
            "piqe", "weights"]


def bench(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        smooth_image(48, 40, seed=i).save(folder / f"img{i:02d}.png")
    return folder


def test_every_image_goes_to_exactly_one_process():
    class State:
        def __init__(self, rank, size):
            self.process_index, self.num_processes = rank, size

    for size in (1, 2, 3, 5):
        for offset in (0, 11, 22):
            shares = [my_share(11, State(rank, size), offset) for rank in range(size)]
            assert sorted(i for share in shares for i in share) == list(range(11))


def test_processes_loads_differ_by_at_most_one_image_over_a_whole_sweep():
    class State:
        def __init__(self, rank, size):
            self.process_index, self.num_processes = rank, size

    images, configurations = 23, 3  # dealt per configuration, process 0 would restore 36 and process 1 only 33
    loads = [sum(len(my_share(images, State(rank, 2), j * images)) for j in range(configurations))
             for rank in range(2)]
    assert sum(loads) == images * configurations and max(loads) - min(loads) <= 1


def test_two_process_sweep_merges_to_the_one_process_rows(tmp_path, tiny_checkpoint):
    images = bench(tmp_path / "bench", 4)
    args = ["--methods", "resshift,bicubic", "--task", "sr_x4", "--nfe", "1,2", "--dataset", str(images),
            "--checkpoint", tiny_checkpoint, "--device", "cpu"]
    two = tmp_path / "two.csv"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "leaderboard.sweep", *args, "--out", str(two)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote 3 rows") == 1  # only the main process writes
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic as each of the two processes
    try:
        one = pd.DataFrame(sweep.run_sweep(["resshift", "bicubic"], "sr_x4", [1, 2], str(images),
                                           checkpoint=tiny_checkpoint, progress=False)).reindex(columns=read_results(two).columns)
    finally:
        torch.set_num_threads(threads)
    merged = read_results(two)
    assert not list(tmp_path.glob("two.csv.partial-*"))  # the per-image scores go once the rows are written
    assert len(merged) == 3 and not merged.duplicated(subset=KEY).any()
    key = lambda frame: frame.assign(tau=frame["tau"].fillna(-1)).set_index(KEY).sort_index()  # noqa: E731
    merged, one = key(merged), key(one)
    assert list(merged.index) == list(one.index)
    for column in COMPARED:
        if merged[column].dtype.kind == "f":
            assert merged[column].to_numpy() == pytest.approx(one[column].astype(float).to_numpy(), rel=1e-5), column
        else:
            assert list(merged[column]) == list(one[column]), column
    assert set(merged["processes"]) == {2} and set(one["processes"]) == {1} and set(merged["threads"]) == {1}
    assert merged["notes"].str.contains("2 processes shared the machine").all()


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path, tiny_checkpoint, monkeypatch):
    images = bench(tmp_path / "bench", 24)
    out = tmp_path / "r.csv"
    args = ["--methods", "resshift", "--task", "sr_x4", "--nfe", "2", "--dataset", str(images),
            "--checkpoint", tiny_checkpoint, "--device", "cpu", "--out", str(out)]
    child = subprocess.Popen([sys.executable, "-m", "leaderboard.sweep", *args], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    partial = PartialScores(out)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and child.poll() is None:
        if partial.path.exists() and partial.path.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert not out.exists(), "the sweep finished before it could be killed"
    finished = len(partial.done())
    assert 2 <= finished < 24

    calls = []
    original = sweep.restore_and_score
    monkeypatch.setattr(sweep, "restore_and_score", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert sweep.main(args) == 0
    assert len(calls) == 24 - finished  # only what the killed run had not finished
    row = read_results(out).iloc[0]
    assert row["n_images"] == 24 and not partial.files()
    fresh = sweep.run_sweep(["resshift"], "sr_x4", [2], str(images), checkpoint=tiny_checkpoint, progress=False)[0]
    assert row["psnr_y"] == pytest.approx(fresh["psnr_y"], rel=1e-5)
    assert row["ssim_y"] == pytest.approx(fresh["ssim_y"], rel=1e-5)


def test_results_travel_as_a_dataset_and_the_tab_reads_them_back(tmp_path, monkeypatch):
    from leaderboard import leaderboard_tab, results_dataset
    from leaderboard.results import RESULTS_DIR, load_all

    shipped = load_all(RESULTS_DIR, reported=False)
    assert results_dataset.main(["export", str(tmp_path / "ds")]) == 0
    back = results_dataset.load_results(str(tmp_path / "ds"))
    key = lambda f: f.assign(tau=f["tau"].fillna(-1)).set_index(KEY).sort_index()  # noqa: E731
    assert list(key(back).index) == list(key(shipped).index)
    assert key(back)["psnr_y"].to_numpy() == pytest.approx(key(shipped)["psnr_y"].to_numpy(), nan_ok=True)
    assert set(back["source"]) == {"measured"}  # exported without the papers' rows
    view = leaderboard_tab.leaderboard_view("sr_x4", "heldout", "psnr_y", "tflops", None, str(tmp_path / "ds"))
    assert len(view[2]) == len(shipped[(shipped.task == "sr_x4") & (shipped.dataset == "heldout")])

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for source, sentence in (("no/such-dataset", "could not be loaded"), (str(tmp_path / "nowhere"), "neither")):
        with pytest.raises(results_dataset.ResultsSourceError, match=sentence):
            results_dataset.load_results(source)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert results_dataset.main(["export", "me/results", "--push"]) == 2  # no token: refused before any upload
