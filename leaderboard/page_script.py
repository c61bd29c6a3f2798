"""The page's own script, run once when it loads (``launch(js=...)``).

A preview image is drawn at its natural size, or smaller to fit, in the middle of a wider box. Gradio reports a
click on the box beside the picture (its letterbox) as no point at all, so "click the preview to zoom" silently
did nothing there. The script moves such a click to the nearest point of the picture and hands it back to
Gradio, which then reports that point: a click beside a small photo zooms on its nearest edge.
"""

from __future__ import annotations

PAGE_JS = """
() => {
  document.addEventListener('click', (event) => {
    if (!event.isTrusted) return;  // our own re-sent click below
    const box = event.target.closest('[id^="preview-"] .image-container');
    if (!box) return;
    const img = box.querySelector('img');
    const frame = img && img.closest('button');
    const clicked = event.target.closest('button');  // the preview's own icons (download, full screen) stay theirs
    if (!frame || !img.naturalWidth || (clicked && clicked !== frame)) return;
    // where the picture is drawn: Gradio's own arithmetic (contained, never enlarged, centred in the img box)
    const r = img.getBoundingClientRect();
    const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight, 1);
    const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
    const left = r.left + (r.width - width) / 2, top = r.top + (r.height - height) / 2;
    const inside = (v, low, size) => v >= low && v < low + size - 0.5;
    if (inside(event.clientX, left, width) && inside(event.clientY, top, height)) return;
    event.stopPropagation();
    event.preventDefault();
    const clamp = (v, low, size) => Math.min(Math.max(v, low + 0.5), low + size - 1);
    frame.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true,
      clientX: clamp(event.clientX, left, width), clientY: clamp(event.clientY, top, height)}));
  }, true);
}
"""
