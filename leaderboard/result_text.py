"""What a finished run says on the page: its metrics table, its cost line, its compare row, zoomed crops.

Pure functions of a run's ``scored`` result and ``info`` dict (``leaderboard.serving.run``), so the page and its
tests read the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from PIL import Image

from .metrics import METRICS
from .serving import choice_of, download_name, png_file

ZOOM_WINDOW = 48  # output pixels around a picked point, shown 4x larger


@dataclass
class CompareView:
    """What a comparison shows: (PNG, label) gallery items, the cost-and-quality table, one download per method,
    the (label, image) pairs the zoom crops, and the (label, PNG) pairs the A|B view picks from."""

    gallery: list[tuple[str, str]]
    table: pd.DataFrame
    downloads: list[str]
    shown: list[tuple[str, Image.Image]]
    files: list[tuple[str, str]]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.files]


def compare_view(task: str, upload, lq: Image.Image, hq: Image.Image | None, results: list) -> CompareView:
    """``results``: (method key, scored, info) per compared method, in order; every image at the output size."""
    size = results[0][1].image.size
    shown = [("input (nearest-neighbour enlarged)" if lq.size != size else "input", lq.resize(size, Image.NEAREST))]
    if hq is not None:
        shown.append(("HQ (reference)", hq))
    gallery = [(png_file(image, "compare"), label) for label, image in shown]
    rows, downloads = [], []
    for method, scored, info in results:
        title = choice_of(method, task).title
        label = f"{title}: NFE {scored.nfe}, {scored.seconds:.2f} s"
        shown.append((label, scored.image))
        rows.append(compare_row(title, scored, info))
        downloads.append(png_file(scored.image, download_name(upload, task, method)))
        gallery.append((downloads[-1], label))  # one PNG per result, shown and downloaded
    return CompareView(gallery, pd.DataFrame(rows), downloads, shown, [(label, path) for path, label in gallery])


# a comparison's captions (method, steps, NFE, seconds) wrap under the thumbnail instead of being cut short, and
# its galleries show every row (Gradio caps a gallery of height "auto" at 55% of the window, with a scroll bar
# inside, so a comparison's later rows were cut off); every table's headers break between words only (Gradio's
# header cells use word-break: break-word, so narrow columns read "NF E", "second s", "Pa re to")
PAGE_CSS = ('[id^="compare-gallery-"] .caption-label, [id^="zoom-gallery-"] .caption-label '
            '{ white-space: normal !important; max-width: 100% !important; } '
            '[id^="compare-gallery-"] .grid-wrap, [id^="zoom-gallery-"] .grid-wrap { max-height: none !important; } '
            'table thead .header.text.wrap { word-break: normal !important; overflow-wrap: normal !important; }')


def metric_cell(value) -> str:
    return "unavailable" if value is None else f"{value:.4f}"


NO_REFERENCE_CAUTION = ("measured; with no HQ the no-reference scores (PIQE, NIQE) are the only judges here, and "
                        "rough ones: they can prefer a painterly or over-sharpened result to a faithful one (tick "
                        "'Input is a clean HQ image' to measure fidelity)")


def metrics_frame(scored) -> pd.DataFrame:
    """Every metric, with why it is unavailable; a no-reference score alone says how far to trust it."""
    computed = [name for name, value in scored.metrics.items() if value is not None]
    only_no_reference = bool(computed) and not any(METRICS[name].full_reference for name in computed)

    def note(name: str) -> str:
        if name in scored.unavailable:
            return scored.unavailable[name]
        return NO_REFERENCE_CAUTION if only_no_reference else "measured"
    return pd.DataFrame([{"metric": f"{spec.label} {spec.arrow}", "value": metric_cell(scored.metrics.get(name)),
                          "note": note(name)} for name, spec in METRICS.items()])


def compare_row(title: str, scored, info: dict) -> dict:
    """One method's line in the compare table: cost, then every metric (unavailable ones say so)."""
    tflops = "not countable" if info["tflops"] is None else round(info["tflops"], 4)
    row = {"method": title, "NFE": scored.nfe, "TFLOPs": tflops, "seconds": round(scored.seconds, 3)}
    for name, spec in METRICS.items():
        value = scored.metrics.get(name)
        row[f"{spec.label} {spec.arrow}"] = "unavailable" if value is None else round(value, 4)
    return row


def cost_markdown(info: dict) -> str:
    notes = "".join(f"\n\n{info[k]}." for k in ("degraded_first",) if k in info)
    notes += "".join(f"\n\n{note}." for note in info.get("input_notes", []))
    if "input_fitted" in info:
        notes += f"\n\nThe input was {info['input_fitted']} to fit the demo's pixel budget."
    split = f" ({info['nfe_detail']})" if info.get("nfe_detail") else ""
    if info["tflops"] is None:  # arithmetic outside torch (OpenCV): unknown, never a made-up zero
        flops = "**TFLOPs** not countable (computed inside OpenCV)"
    else:
        flops = f"**TFLOPs** {info['tflops']:.4g} ({flops_split(info)})"
    return notes.lstrip() + "\n\n" + (f"**NFE** {info['nfe']}{split} &nbsp;·&nbsp; {flops} &nbsp;·&nbsp; "
            f"**seconds** {info['seconds']:.3f} restoring on {info.get('device', 'this server')} &nbsp;·&nbsp; "
            f"{info['input_size'][0]}x{info['input_size'][1]} → {info['output_size'][0]}x{info['output_size'][1]}"
            + total_line(info))


def flops_text(tflops: float) -> str:
    """FLOPs in the unit that reads best: an IPR-denoiser MLP step is a few MFLOPs, an image network TFLOPs."""
    for unit, scale in (("TFLOPs", 1.0), ("GFLOPs", 1e-3), ("MFLOPs", 1e-6)):
        if abs(tflops) >= 0.01 * scale or unit == "MFLOPs":
            return f"{tflops / scale:.3g} {unit}"


def flops_split(info: dict) -> str:
    """The total as its parts, so the arithmetic adds up: once per image + step calls x each step's cost."""
    calls, per = info.get("step_calls") or 0, info.get("tflops_per_nfe") or 0.0
    if not calls or not per:
        return "all once per image"
    steps = f"{calls} step call{'s' * (calls != 1)} x {flops_text(per)}"
    base = info.get("tflops_base") or 0.0
    return f"{flops_text(base)} once + {steps}" if base > 1e-9 else steps


def total_line(info: dict) -> str:
    """The whole wait, not only the network: reading, degrading, queueing for the CPU, restoring, scoring."""
    split = info.get("time_split_seconds")
    if not split:
        return ""
    parts = ", ".join(f"{name.replace('_', ' ')} {value:.2f}" for name, value in split.items())
    return f"\n\n**total {info['total_seconds']:.2f} s** on the server ({parts}); sending the PNG back is extra."


def zoom_crops(shown: list[tuple[str, Image.Image]], fx: float, fy: float) -> list[tuple[Image.Image, str]]:
    """Crops of every compared image around the same point (``fx``, ``fy``: fractions of width and height)."""
    crops = []
    for label, image in shown:
        width, height = image.size
        half = ZOOM_WINDOW // 2
        left = min(max(int(fx * width) - half, 0), max(width - ZOOM_WINDOW, 0))
        top = min(max(int(fy * height) - half, 0), max(height - ZOOM_WINDOW, 0))
        crop = image.crop((left, top, left + ZOOM_WINDOW, top + ZOOM_WINDOW))
        crops.append((crop.resize((crop.width * 4, crop.height * 4), Image.NEAREST), label))
    return crops
