"""The demo in a real browser: Playwright driving Debian's headless Chromium, as a user would click through it.

Skipped only on a machine without Debian's Chromium (Playwright cannot download its own offline), never under CI
(``CI=true``), where ``.ci/run`` installs it and a skip would hide a broken page; a missing Playwright (a pip
dependency of the tests) always fails. Screenshots go to ``$BROWSER_SCREENSHOTS`` (default: pytest's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import restorers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("CI", "").lower() == "true"


def browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # a pip dependency of the tests, never a machine's lack: fail
        pytest.fail("playwright is not installed (pip install -r requirements-test.txt)")
    if CHROMIUM is None:  # a system browser a machine may truly lack (no download offline); never skipped in CI
        if REQUIRED:
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    return sync_playwright


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    sync_playwright = browser_or_skip()
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.console_errors = []
        page.on("console", lambda message: page.console_errors.append(message.text)
                if message.type == "error" else None)
        page.goto(server)
        page.get_by_role("button", name="Restore").first.wait_for(timeout=60_000)
        page.shots = shots
        yield page
        browser.close()


def app_methods(task_id: str) -> list[str]:
    """The methods the app offers for a task (those whose weights are present)."""
    from leaderboard import serving

    return serving.available_methods(task_id)


def shown_tasks() -> list[str]:
    from leaderboard import serving

    return serving.shown_tasks()


TASKS = shown_tasks()


def dismiss_toasts(page):
    """Close every toast on the page, so that what a test counts next is what its own clicks caused."""
    from playwright.sync_api import expect

    for close in page.locator(".toast-close").all():
        if close.is_visible():
            close.click()
    expect(page.locator(".toast-body")).to_have_count(0, timeout=10_000)


def wait_for_result(page, target, timeout_s: float):
    """Wait for ``target`` to show, failing at once with the app's message if an error toast comes instead (a
    failed run would otherwise cost the whole timeout)."""
    errors = page.locator(".toast-body.error")
    for _ in range(int(timeout_s * 2)):
        if target.count() and target.first.is_visible():
            return
        if errors.count():
            pytest.fail(f"the app showed an error instead: {errors.first.inner_text()!r}")
        page.wait_for_timeout(500)
    pytest.fail(f"nothing appeared in {timeout_s:.0f} s")


@pytest.mark.parametrize("task_id", TASKS)
def test_restore_an_example_in_each_task_tab(page, task_id):
    task = restorers.get_task(task_id)
    page.get_by_role("tab", name=task.title).click()
    panel = page.locator(f"#tab-{task_id}")
    panel.locator(".gallery-item, [data-testid='examples'] button, table.table tbody tr").first.click()
    page.wait_for_timeout(1500)
    panel.locator(f"#restore-{task_id}").click()
    cost = panel.locator(f"#cost-{task_id}")
    wait_for_result(page, cost.get_by_text("NFE"), 240)
    text = cost.inner_text()
    assert "TFLOPs" in text and "seconds" in text
    assert "degraded" in text  # the example is a clean HQ photo: the page says what was restored
    page.screenshot(path=str(page.shots / f"tab_{task_id}.png"), full_page=True)


def test_the_download_follows_the_chosen_format_without_a_new_run(page):
    from playwright.sync_api import expect

    task_id = TASKS[0]  # restored by the test above
    page.get_by_role("tab", name=restorers.get_task(task_id).title).click()
    panel = page.locator(f"#tab-{task_id}")
    download = panel.locator(f"#download-{task_id}")
    expect(download).to_contain_text("Download PNG", timeout=30_000)
    cost = panel.locator(f"#cost-{task_id}").inner_text()
    panel.get_by_label("WebP", exact=True).check()
    expect(download).to_contain_text("Download WebP, quality 92", timeout=30_000)
    with page.expect_download() as got:
        download.click()
    assert got.value.suggested_filename.endswith(".webp")
    assert panel.locator(f"#cost-{task_id}").inner_text() == cost  # re-encoded, not restored again
    panel.get_by_label("PNG", exact=True).check()


def test_compare_view_runs_every_method_and_zooms(page):
    from leaderboard import serving

    task = restorers.get_task(TASKS[0])
    page.get_by_role("tab", name=task.title).click()
    panel = page.locator(f"#tab-{task.id}")
    panel.locator(".gallery-item, [data-testid='examples'] button, table.table tbody tr").first.click()
    page.locator(f"#preview-{task.id} img").first.wait_for(timeout=30_000)  # the example's preview, to click on
    panel.get_by_text("Compare methods on this input").click()
    button = panel.locator(f"#compare-{task.id}")
    methods = serving.compare_defaults(task.id)
    from playwright.sync_api import expect

    expect(button).to_contain_text(f"Compare {len(methods)} methods (about", timeout=60_000)  # said before the run
    button.click()
    table = panel.locator(f"#compare-table-{task.id}")
    titles = [serving.choice_of(method, task.id).title for method in methods]
    wait_for_result(page, table.get_by_text(titles[-1], exact=True).filter(visible=True), 300)  # may render twice
    for title in titles:
        assert table.get_by_text(title, exact=True).count() >= 1, title
    zoom = panel.locator(f"#zoom-gallery-{task.id} img")
    assert zoom.count() == 0  # nothing picked yet
    # a click beside the picture, in the preview's letterbox, zooms on the picture's nearest edge (Gradio alone
    # reports no point there, and nothing happened)
    preview = panel.locator(f"#preview-{task.id} .image-container").first
    spot = preview.evaluate(
        "c => { const i = c.querySelector('img'), r = i.getBoundingClientRect(), b = c.getBoundingClientRect();"
        " const s = Math.min(r.width / i.naturalWidth, r.height / i.naturalHeight, 1);"
        " const left = r.left + (r.width - i.naturalWidth * s) / 2, top = r.top + (r.height - i.naturalHeight * s) / 2;"
        " return {gap: left - b.left, x: (left - b.left) / 2, y: top - b.top + i.naturalHeight * s / 2}; }")
    assert spot["gap"] > 8, spot  # the example is narrower than the preview's box
    preview.click(position={"x": spot["x"], "y": spot["y"]})
    zoom.first.wait_for(timeout=60_000)
    # the click's effect: one crop per compared image (the input, the HQ when it is known, every method)
    assert zoom.count() >= len(methods) + 1, zoom.count()
    panel.locator(f"#zoom-gallery-{task.id}").scroll_into_view_if_needed()  # thumbnails may load lazily
    page.wait_for_function(  # every crop is served and decoded, not an empty frame
        "sel => [...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)",
        arg=f"#zoom-gallery-{task.id} img", timeout=60_000)
    captions = panel.locator(f"#zoom-gallery-{task.id} .caption-label, #compare-gallery-{task.id} .caption-label")
    assert captions.count() >= 2 * len(methods)
    cut = captions.evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert not cut, f"captions cut short: {cut}"
    clipped = panel.locator(f"#compare-gallery-{task.id} .grid-wrap, #zoom-gallery-{task.id} .grid-wrap").evaluate_all(
        "els => els.filter(e => e.scrollHeight > e.clientHeight + 1).map(e => [e.clientHeight, e.scrollHeight])")
    assert not clipped, f"a gallery shows only part of its rows: {clipped}"
    page.screenshot(path=str(page.shots / "compare.png"), full_page=True)

    # the A|B view: the first result against the HQ, both served and decoded, zoomed and panned together
    ab = panel.locator(f"#ab-{task.id}")
    a, b = ab.locator("img.ab-a"), ab.locator("img.ab-b")
    b.wait_for(timeout=30_000)
    page.wait_for_function("ids => ids.every(id => { const i = document.querySelector(id);"
                           " return i && i.complete && i.naturalWidth > 0; })",
                           arg=[f"#ab-{task.id} img.ab-a", f"#ab-{task.id} img.ab-b"], timeout=30_000)
    assert "HQ" in ab.locator("figcaption").nth(1).inner_text()
    a.scroll_into_view_if_needed()
    box = a.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
    for _ in range(4):
        page.mouse.wheel(0, -120)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 3 + 30, box["y"] + box["height"] / 3 + 20, steps=4)
    page.mouse.up()
    transform_a, transform_b = a.evaluate("i => i.style.transform"), b.evaluate("i => i.style.transform")
    assert "scale(2.44" in transform_a and transform_a == transform_b  # 1.25^4, the same view on both sides
    page.screenshot(path=str(page.shots / "ab_view.png"), full_page=False)
    # another pair keeps the view: pick the input as B
    panel.locator(f"#ab-b-{task.id} input").click()
    page.get_by_role("option", name="input", exact=False).first.click()
    expect(ab.locator("figcaption").nth(1)).to_contain_text("input", timeout=30_000)
    assert ab.locator("img.ab-b").evaluate("i => i.style.transform") == transform_a


def test_a_non_image_upload_gets_the_apps_own_message(page, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is a text file with an image's name")
    task = restorers.get_task(TASKS[0])
    page.get_by_role("tab", name=task.title).click()
    upload = page.locator(f"#upload-{task.id}")
    clear = upload.get_by_label("Clear")
    if clear.count():  # an example is loaded: clear it so the drop zone (and its file input) comes back
        clear.first.click()
    upload.locator("input[type=file]").set_input_files(str(fake))
    message = page.get_by_text("not an image this app can read")
    message.first.wait_for(timeout=30_000)
    page.screenshot(path=str(page.shots / "bad_upload.png"), full_page=True)
    assert page.get_by_text("/tmp/").count() == 0  # no server path in what the user sees
    # Restore on the bad file: the error is shown, and the button comes back for the next try
    from playwright.sync_api import expect

    button = page.locator(f"#restore-{task.id}")
    button.click()
    page.get_by_text("not an image this app can read").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # the run has failed by now (reading the file is its first step)
    expect(button).to_be_enabled(timeout=30_000)  # before the fix it stayed grey for good
    # the refused run marked the result outputs "Error"; a new photo is a fresh start and unmarks them
    badges = page.locator(f"#tab-{task.id} .error, #tab-{task.id} [data-testid='error']").filter(visible=True)
    expect(badges.first).to_be_visible(timeout=10_000)
    good = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (40, 32), (120, 80, 40)).save(good)
    clear = upload.get_by_label("Clear")
    if clear.count():
        clear.first.click()
    upload.locator("input[type=file]").set_input_files(str(good))
    expect(badges).to_have_count(0, timeout=30_000)


def test_leaderboard_opens_and_switches_metric(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Leaderboard").click()
    title = page.locator("#leaderboard-plot-nfe .gtitle")
    expect(title).to_contain_text("PSNR-Y", timeout=60_000)  # sr_x4's ranking metric first
    header = page.locator("#leaderboard-table thead")
    expect(header).to_contain_text("Device")  # where each row's seconds were measured
    # every header word on one line (a break after a hyphen is fine): Gradio's narrow header cells broke words ("NF E",
    # "Pa re to") before the page's CSS
    broken = page.evaluate("""() => { const broken = [];
        for (const span of document.querySelectorAll('#leaderboard-table thead .header')) {
            for (const node of span.childNodes) {
                if (node.nodeType !== 3) continue;
                for (const m of node.textContent.matchAll(/[^\\s-]+/g)) {
                    const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
                    if (r.getClientRects().length > 1) broken.push(m[0]);
                } } }
        return broken; }""")
    assert broken == [], broken
    page.get_by_label("Metric", exact=True).click()
    page.get_by_role("option", name="LPIPS-Alex ↓").click()
    # the switch's effect: the plot now draws the chosen metric, and the table has its column
    expect(title).to_contain_text("LPIPS-Alex", timeout=30_000)
    expect(title).not_to_contain_text("PSNR-Y")
    expect(header).to_contain_text("LPIPS-Alex")
    page.screenshot(path=str(page.shots / "leaderboard.png"), full_page=True)


def test_stop_during_a_one_shot_network_says_stopped_and_frees_restore(page, tmp_path):
    """Real-ESRGAN on a photo of the visitor's own: Stop during the run says "Stopped." and Restore comes back
    (the server leaves the network within a layer: tests/test_serving.py times that)."""
    from conftest import random_image
    from playwright.sync_api import expect

    if "realsr_x4" not in TASKS or "realesrgan" not in app_methods("realsr_x4"):
        pytest.fail("the Real-world SR tab with Real-ESRGAN is missing: its weights did not load")
    photo = tmp_path / "own_photo.png"
    random_image(200, 160, seed=9).save(photo)
    page.get_by_role("tab", name=restorers.get_task("realsr_x4").title).click()
    panel = page.locator("#tab-realsr_x4")
    upload = panel.locator("#upload-realsr_x4")
    clear = upload.get_by_label("Clear")
    if clear.count():
        clear.first.click()
    upload.locator("input[type=file]").set_input_files(str(photo))
    panel.get_by_label("Method").click()
    page.get_by_role("option", name=restorers.get_method("realesrgan").title).click()
    button = panel.locator("#restore-realsr_x4")
    button.click()
    expect(button).to_be_disabled(timeout=10_000)
    page.wait_for_timeout(2500)  # inside the RRDB's pass by now
    panel.get_by_role("button", name="Stop").click()
    cost = panel.locator("#cost-realsr_x4")
    expect(cost).to_contain_text("Stopped.", timeout=10_000)
    expect(button).to_be_enabled(timeout=10_000)
    page.wait_for_timeout(1500)  # the stopped run's own end has reached the page by now
    # the run's end says nothing: an error toast would call the visitor's own Stop a failure
    expect(page.locator(".toast-body.error")).to_have_count(0)
    # nor does any output: the results stay as they were (a cancelled event marked every one "Error")
    expect(panel.locator(".error, [data-testid='error']").filter(visible=True)).to_have_count(0)
    page.screenshot(path=str(page.shots / "stopped.png"), full_page=True)


def test_leaderboard_of_a_task_without_results_shows_no_error_badges(page):
    from playwright.sync_api import expect

    dismiss_toasts(page)  # an earlier test's toast (its own error classes) is not this click's doing
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_label("Task", exact=True).click()
    page.get_by_role("option", name="faceir", exact=True).click()
    note = page.get_by_text("No results for faceir")
    note.first.wait_for(timeout=30_000)
    expect(page.locator(".error, [data-testid='error']").filter(visible=True)).to_have_count(0)
    page.get_by_label("Task", exact=True).click()
    page.get_by_role("option", name="all", exact=True).click()
    expect(page.locator("#leaderboard-table thead")).to_contain_text("Task", timeout=30_000)
    page.screenshot(path=str(page.shots / "leaderboard_all.png"), full_page=True)


def test_no_console_errors_from_the_app(page):
    ours = [e for e in page.console_errors if "favicon" not in e and "manifest" not in e]
    assert not ours, ours


def test_leaderboard_draws_the_pareto_front_and_sweeps_the_visitors_photos(page, tmp_path):
    """The cost axis changes what the front is drawn against; a sweep of three photos of the visitor's own shows
    its rows (marked yours) in its table and the leaderboard's, downloads as CSV, and a second one stops."""
    from conftest import smooth_image
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_label("Task", exact=True).click()
    page.get_by_role("option", name="sr_x4", exact=True).click()  # an earlier test may have left "all"
    front = page.locator("#leaderboard-plot-front .gtitle")
    expect(front).to_contain_text("Pareto front vs TFLOPs", timeout=60_000)
    page.get_by_label("Cost axis", exact=True).click()
    page.get_by_role("option", name="seconds per image").click()
    expect(front).to_contain_text("Pareto front vs seconds", timeout=30_000)
    expect(page.locator("#leaderboard-table thead")).to_contain_text("Pareto")
    expect(page.locator("#leaderboard-table")).to_contain_text("★", timeout=30_000)
    expect(page.locator("#leaderboard-reported-note")).to_contain_text("never with measured rows")

    page.locator("#sweep-panel").get_by_text("Run a sweep").click()
    photos = []
    for i in range(3):
        photos.append(str(tmp_path / f"my_photo{i}.png"))
        smooth_image(64, 64, seed=20 + i).save(photos[-1])
    page.locator("#sweep-benchmark").get_by_label("my images").check()
    page.locator("#sweep-files input[type=file]").set_input_files(photos)
    methods = page.locator("#sweep-methods")
    for box in methods.locator("input[type=checkbox]").all():
        if box.is_checked():
            box.uncheck()
    methods.get_by_label(restorers.get_method("bicubic").title, exact=True).check()
    methods.get_by_label(restorers.get_method("regression").title, exact=True).check()
    page.locator("#sweep-run").click()
    status = page.locator("#sweep-status")
    expect(status).to_contain_text("Done", timeout=180_000)
    table = page.locator("#sweep-rows")
    expect(table).to_contain_text("your 3 photos", timeout=30_000)
    expect(table).to_contain_text("bicubic")
    expect(table).to_contain_text("regression")  # both rows, not only the first
    expect(page.locator("#leaderboard-table")).to_contain_text("yours", timeout=30_000)
    with page.expect_download() as got:
        page.locator("#sweep-csv").click()
    csv = Path(got.value.path()).read_text()
    assert csv.startswith("method,checkpoint") and csv.count("your 3 photos") == 2  # both methods
    page.screenshot(path=str(page.shots / "leaderboard_sweep.png"), full_page=True)

    page.locator("#sweep-nfe textarea, #sweep-nfe input").first.fill("1,2,3,4")
    methods.get_by_label(restorers.get_method("regression").title, exact=True).uncheck()
    methods.get_by_label(restorers.get_method("bicubic").title, exact=True).uncheck()
    methods.get_by_label(restorers.get_method("resshift").title, exact=True).check()
    page.locator("#sweep-run").click()
    expect(status).to_contain_text("Running", timeout=60_000)
    page.locator("#sweep-stop").click()
    expect(status).to_contain_text("Stopped.", timeout=10_000)
    page.wait_for_timeout(3000)
    assert "Stopped." in status.inner_text()  # the cancelled run does not overwrite the message


def test_burst_tab_synthesises_restores_three_ways_and_takes_its_frames_back(page, tmp_path):
    """An example made into a burst (the frames shown as a strip), restored by the naive baseline, the burst
    network and DP-IR; then the burst's own 16-bit frames, downloaded from the page, uploaded: the same result."""
    from playwright.sync_api import expect

    task = restorers.get_task("burst_jddsr")
    if task.id not in TASKS:
        pytest.fail("the Burst JDD-SR tab is missing: its embedded checkpoints did not load")
    page.get_by_role("tab", name=task.title).click()
    panel = page.locator(f"#tab-{task.id}")
    panel.locator(".gallery-item, [data-testid='examples'] button, table.table tbody tr").first.click()
    page.wait_for_timeout(1500)
    cost, button = panel.locator(f"#cost-{task.id}"), panel.locator(f"#restore-{task.id}")
    psnr = {}
    for method in ("burst_naive", "regression", "dpir"):
        panel.get_by_label("Method").click()
        page.get_by_role("option", name=restorers.get_method(method).title).click()
        page.wait_for_timeout(1000)
        expect(button).to_contain_text("Restore (", timeout=30_000)  # the estimate before the wait
        button.click()
        # this run's own outputs (the previous method's are still on the page until they are replaced)
        expect(panel.locator("#burst-downloads")).to_contain_text(f"_burst_jddsr_{method}", timeout=120_000)
        expect(cost).to_contain_text("degraded into a burst of 14 raw", timeout=30_000)
        expect(panel.locator("#burst-strip img")).to_have_count(14, timeout=30_000)
        # Gradio's Dataframe draws its rows as a virtual list of divs, not as table rows
        row = panel.locator(".virtual-row").filter(has_text="PSNR-Y").first
        expect(row).to_be_visible(timeout=30_000)
        psnr[method] = float(row.locator(".body-cell").nth(1).inner_text())
        page.screenshot(path=str(page.shots / f"burst_{method}.png"), full_page=True)
    assert psnr["regression"] > psnr["burst_naive"]
    panel.get_by_text("Run info (JSON)").click()
    synthesised = panel.get_by_text("result_sha256").locator("..").inner_text()
    downloads = panel.locator("#burst-downloads a")
    expect(downloads).to_have_count(15, timeout=30_000)  # the result and the 14 frames
    with page.expect_download() as waiting:  # a click downloads a frame under its own name
        downloads.nth(1).click()
    assert waiting.value.suggested_filename.endswith("_frame_00.png")
    # Chromium stops a page's automatic downloads after ten, so the rest come through the same links by request
    frames = []
    for index in range(1, 15):
        link = downloads.nth(index)
        frames.append(tmp_path / link.get_attribute("download"))
        frames[-1].write_bytes(page.request.get(link.get_attribute("href")).body())
    assert [f.name for f in frames] == sorted(f.name for f in frames)
    panel.locator("#burst-frames input[type=file]").set_input_files([str(f) for f in frames])
    expect(panel.get_by_label("Upload raw frames")).to_be_checked(timeout=10_000)
    button.click()
    expect(cost).not_to_contain_text("degraded into", timeout=120_000)
    expect(cost).to_contain_text("NFE", timeout=10_000)
    page.wait_for_timeout(1000)
    uploaded = panel.get_by_text("result_sha256").locator("..").inner_text()
    assert "result_sha256" in synthesised and uploaded == synthesised  # DP-IR, seed 0: the very same pixels
    page.screenshot(path=str(page.shots / "burst_uploaded.png"), full_page=True)
