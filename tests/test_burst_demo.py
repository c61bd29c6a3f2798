"""The demo's Burst JDD-SR tab, run as its handlers are: synthesise or upload, restore, refuse bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from leaderboard import burst_demo, serving
from leaderboard.burst_demo import SYNTHESISE, UPLOAD, run_burst
from leaderboard.serving import RequestError
from restorers.paths import EXAMPLES

EXAMPLE = str(EXAMPLES / "hq_butterfly.png")


@pytest.fixture(scope="module")
def synthesised():
    return run_burst("regression", SYNTHESISE, EXAMPLE, None, None, 0)


def test_a_synthesised_burst_is_restored_beside_the_naive_baseline_and_scored(synthesised):
    burst, hq, scored, naive, info = synthesised
    assert burst.num_frames == 14 and scored.image.size == hq.size == (4 * burst.width, 4 * burst.height)
    assert info["nfe"] == 1 and info["frames"] == 14 and info["tflops"] > 0
    assert "degraded into a burst of 14 raw" in info["degraded_first"]
    assert scored.metrics["psnr_y"] > naive.metrics["psnr_y"]  # merging the burst beats its first frame alone
    assert naive.nfe == 0
    strip = burst_demo.frame_strip(burst)
    assert len(strip) == 14 and strip[0][1] == "frame 1 (ref.)"


def test_the_frames_of_a_synthesised_burst_uploaded_give_the_same_result(synthesised, tmp_path):
    burst, _, scored, _, _ = synthesised
    paths = [str(p) for p in burst.save_pngs(tmp_path)]
    again, hq, uploaded, _, info = run_burst("regression", UPLOAD, None, paths, None, 0)
    assert hq is None and np.array_equal(again.frames, burst.frames)
    assert np.array_equal(np.asarray(uploaded.image), np.asarray(scored.image))
    assert uploaded.metrics.get("psnr_y") is None  # no HQ: fidelity is not measured, not made up


def test_dpir_restores_a_burst_with_its_default_steps():
    _, _, scored, _, info = run_burst("dpir", SYNTHESISE, EXAMPLE, None, None, 0)
    assert info["nfe"] == info["steps"] + 1 if info["steps"] else info["nfe"] >= 2
    assert "ir_network" in info["nfe_detail"]


@pytest.mark.parametrize("make, message", [
    (lambda d: [], "Upload the burst's raw frames"),
    (lambda d: [d["frames"][0]], "at least 2 raw frames"),
    (lambda d: [d["frames"][0], d["rgb"]], "frame 2 is a RGB image"),
    (lambda d: [d["frames"][0], d["big"]], "every frame must be the same size"),
    (lambda d: [d["frames"][0], d["text"]], "not an image"),
])
def test_bad_frame_uploads_get_one_sentence(synthesised, tmp_path, make, message):
    files = {"frames": [str(p) for p in synthesised[0].save_pngs(tmp_path / "frames")],
             "rgb": str(tmp_path / "rgb.png"), "big": str(tmp_path / "big.png"), "text": str(tmp_path / "notes.png")}
    Image.new("RGB", (64, 64)).save(files["rgb"])
    Image.fromarray(np.zeros((80, 80), np.uint16)).save(files["big"])
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(RequestError, match=message) as caught:
        run_burst("regression", UPLOAD, None, make(files), None, 0)
    assert str(tmp_path) not in str(caught.value)


def test_other_refusals(tmp_path):
    with pytest.raises(RequestError, match="Upload an image"):
        run_burst("regression", SYNTHESISE, None, None, None, 0)
    small = tmp_path / "small.png"
    Image.new("RGB", (40, 40)).save(small)
    with pytest.raises(RequestError, match="at least 64 pixels"):
        run_burst("regression", SYNTHESISE, str(small), None, None, 0)
    with pytest.raises(RequestError, match="does not restore bursts"):
        run_burst("telea", SYNTHESISE, EXAMPLE, None, None, 0)
    with pytest.raises(RequestError, match="use its own tab"):
        serving.run("burst_jddsr", "regression", EXAMPLE, None, 0, degrade_first=True)


def test_the_restore_button_says_how_long(synthesised):
    text = burst_demo.restore_button_text("regression", SYNTHESISE, EXAMPLE, None, None)
    assert text.startswith("Restore (") and text.endswith(")")
    assert burst_demo.restore_button_text("regression", UPLOAD, None, None, None) == "Restore"
    # the estimate reads the HQ without synthesising the burst; the burst it would make is HQ / 4
    _, hq, _ = burst_demo.read_inputs(SYNTHESISE, EXAMPLE, None)
    burst, _, _ = burst_demo.read_burst(SYNTHESISE, EXAMPLE, None)
    assert burst.size == (hq.width // 4, hq.height // 4)


def test_a_visitors_sweep_of_bursts_takes_clean_photos_not_lq_hq_pairs(tmp_path):
    import restorers
    from leaderboard.visitor_sweep import upload_pairs

    task = restorers.get_task("burst_jddsr")
    photo = tmp_path / "mine.png"
    Image.open(EXAMPLE).save(photo)
    (name, hq, burst, conditions), = upload_pairs(task, [str(photo)], "hq")
    assert burst.num_frames == 14 and burst.size == (hq.width // 4, hq.height // 4) and conditions == {}
    with pytest.raises(RequestError, match="restores bursts of raw frames, not LQ images"):
        upload_pairs(task, [str(photo)], "pairs")


def test_a_stop_pressed_before_the_burst_run_starts_is_kept_and_the_next_click_forgets_it(monkeypatch):
    """Stop no longer cancels the event; the handler honours a Stop pressed while it was queued (it used to clear
    it on entry and run to the end), and the next Restore click (``begin_run``) starts afresh."""
    import types

    import gradio as gr

    from leaderboard.page_errors import begin_run

    request = types.SimpleNamespace(session_hash="session-burst")
    ran = []
    monkeypatch.setattr(burst_demo, "restore_and_score", lambda *a, **k: ran.append(a) or pytest.fail("ran"))
    serving.STOPPED.add("session-burst")  # pressed while the run waited in the queue
    try:
        outputs = burst_demo.ui_restore_burst("regression", SYNTHESISE, EXAMPLE, None, None, 0, request=request)
        assert not ran and all(output == gr.skip() for output in outputs)
        begin_run(request)  # the visitor presses Restore again
        assert "session-burst" not in serving.STOPPED
    finally:
        serving.STOPPED.discard("session-burst")
