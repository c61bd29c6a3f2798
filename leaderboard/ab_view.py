"""The A|B view: two images of a comparison side by side, zoomed and panned together (as imgsli does).

Scroll zooms at the pointer (1x to 32x, pixels stay sharp), dragging pans, a double click resets; both panes
always show the same region, so a detail is compared where it is, not remembered across a page scroll. It is a
``gr.HTML`` with a template and a small script: the images are the comparison's PNG files, served by Gradio
from :data:`leaderboard.serving.OUTPUT_DIR` (the app passes it to ``launch(allowed_paths=...)``).
"""

from __future__ import annotations

import html

import gradio as gr

TEMPLATE = """
${value && value.a ? `
<div class="ab-view" data-zoom="1">
  <figure class="pane"><figcaption>A: ${value.a.label}</figcaption>
    <div class="view"><img class="ab-a" src="${value.a.url}" alt="A" draggable="false"></div></figure>
  <figure class="pane"><figcaption>B: ${value.b.label}</figcaption>
    <div class="view"><img class="ab-b" src="${value.b.url}" alt="B" draggable="false"></div></figure>
</div>
<p class="hint">Scroll on either image to zoom, drag to pan: both follow. Double-click to reset.</p>`
: `<p class="hint">Run a comparison, then pick the two images to view side by side.</p>`}
"""

CSS = """
.ab-view { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
@media (max-width: 640px) { .ab-view { grid-template-columns: 1fr; } }
.pane { margin: 0; min-width: 0; }
.pane figcaption { font-size: 0.85em; padding: 2px 0; overflow-wrap: anywhere; }
.view { overflow: hidden; touch-action: none; cursor: grab; border: 1px solid var(--border-color-primary); }
.view img { display: block; width: 100%; transform-origin: 0 0; image-rendering: pixelated; user-select: none; }
.hint { font-size: 0.85em; color: var(--body-text-color-subdued); }
"""

SCRIPT = """
const s = {z: 1, x: 0, y: 0, drag: null};
function apply() {
  element.querySelectorAll('.view img').forEach(img => {
    img.style.transform = `translate(${s.x}px, ${s.y}px) scale(${s.z})`;
  });
  const root = element.querySelector('.ab-view');
  if (root) root.dataset.zoom = s.z.toFixed(3);
}
function clamp(view) {  // keep the image covering its pane
  const w = view.clientWidth, h = view.querySelector('img').clientHeight;
  s.x = Math.min(0, Math.max(w - w * s.z, s.x));
  s.y = Math.min(0, Math.max(h - h * s.z, s.y));
}
element.addEventListener('wheel', e => {
  const view = e.target.closest('.view');
  if (!view) return;
  e.preventDefault();
  const r = view.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
  const z = Math.min(32, Math.max(1, s.z * (e.deltaY < 0 ? 1.25 : 0.8)));
  s.x = px - (px - s.x) * z / s.z;
  s.y = py - (py - s.y) * z / s.z;
  s.z = z;
  clamp(view);
  apply();
}, {passive: false});
element.addEventListener('pointerdown', e => {
  const view = e.target.closest('.view');
  if (!view) return;
  s.drag = {x: e.clientX - s.x, y: e.clientY - s.y, view: view};
  view.setPointerCapture(e.pointerId);
});
element.addEventListener('pointermove', e => {
  if (!s.drag) return;
  s.x = e.clientX - s.drag.x;
  s.y = e.clientY - s.drag.y;
  clamp(s.drag.view);
  apply();
});
element.addEventListener('pointerup', () => { s.drag = null; });
element.addEventListener('dblclick', () => { s.z = 1; s.x = 0; s.y = 0; apply(); });
watch('value', () => apply());  // new images keep the zoom: pick another pair, look at the same spot
"""


def ab_component(elem_id: str) -> gr.HTML:
    return gr.HTML(None, html_template=TEMPLATE, css_template=CSS, js_on_load=SCRIPT, elem_id=elem_id,
                   apply_default_css=True)


def file_url(path: str) -> str:
    """Gradio's route for a file under an allowed path (relative: it works under a Space's or a proxy's prefix)."""
    return f"gradio_api/file={path}"


def ab_value(files: list[tuple[str, str]], a: str | None, b: str | None) -> dict | None:
    """The view's value for the images labelled ``a`` and ``b`` among ``files`` ((label, PNG path) pairs)."""
    paths = dict(files)
    if a not in paths or b not in paths:
        return None
    return {side: {"label": html.escape(label), "url": file_url(paths[label])} for side, label in (("a", a), ("b", b))}


def default_pair(labels: list[str]) -> tuple[str | None, str | None]:
    """A: the first method's result; B: the HQ when it is known, else the input."""
    hq = next((label for label in labels if label.startswith("HQ")), None)
    results = [label for label in labels if not label.startswith(("HQ", "input"))]
    a = results[0] if results else None
    return a, hq or (labels[0] if labels else None)
