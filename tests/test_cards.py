"""Model cards, results rows and the README's tables tell one story (no re-measuring here: files are compared)."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pandas as pd
import pytest

import restorers
from leaderboard import cards, readme_tables
from leaderboard.results import RESULTS_DIR
from restorers.registry import CHECKPOINTS, METHODS

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED = sorted({(m, t) for m, spec in METHODS.items() if spec.in_demo and m != "ddpm"
                   for t in spec.default_checkpoints if (CHECKPOINTS / spec.default_checkpoints[t]).is_dir()})


def test_every_embedded_checkpoint_is_covered():
    """The list below is derived from the registry; it must hold every restoration folder of assets/checkpoints."""
    folders = {METHODS[m].default_checkpoints[t] for m, t in EMBEDDED}
    on_disk = {p.name for p in CHECKPOINTS.iterdir() if (p / "model_index.json").is_file()}
    assert folders == on_disk and "resshift-realsr_x4" in folders


def matching_row(frame: pd.DataFrame, meta: dict) -> pd.Series:
    tau = frame.tau.isna() if meta["tau"] is None else frame.tau == meta["tau"]
    found = frame[(frame.method == meta["method"]) & (frame.checkpoint == meta["checkpoint"])
                  & (frame.nfe == meta["nfe"]) & tau]
    assert len(found) == 1, (meta, found[["method", "checkpoint", "nfe", "tau"]])
    return found.iloc[0]


@pytest.mark.parametrize("method, task", EMBEDDED)
def test_card_means_are_the_results_rows(method, task):
    """Every configuration a card measured (the checkpoint at each step count and the baselines beside it) has the
    same mean PSNR-Y / SSIM-Y / LPIPS as its row in the task's held-out results: same seeds, same code."""
    folder = CHECKPOINTS / METHODS[method].default_checkpoints[task]
    card = json.loads((folder / "heldout_metrics.json").read_text())
    assert (card["method"], card["task"], card["seed"]) == (method, task, 0)
    frame = pd.read_csv(RESULTS_DIR / f"{task}__{card['dataset']}.csv")
    frame = frame[frame.dataset == card["dataset"]]
    assert set(card["columns"]) == set(card["baselines"]) | {f"steps={s}" for s in card["steps"]}
    for column, meta in card["columns"].items():
        row = matching_row(frame, meta)
        assert row.n_images == len(card["rows"]) == 34, column
        for metric in cards.SHOWN:
            mean = math.fsum(r[column][metric] for r in card["rows"]) / len(card["rows"])
            assert mean == pytest.approx(row[metric], rel=2e-5, abs=1e-6), (column, metric, mean, row[metric])
    summary = (folder / "README.md").read_text()
    assert f"{cards.means(card, cards.default_column(card))['psnr_y']:.2f} |" in summary  # the card shows them


def test_denoiser_card_is_rendered_from_its_measurement():
    folder = CHECKPOINTS / "dpir-denoiser"
    result = json.loads((folder / "heldout_metrics.json").read_text())
    assert result["mode"] == "denoiser" and len(result["rows"]) == 34
    card = (folder / "README.md").read_text()
    assert cards.denoiser_table(result) in card
    assert card == cards.render(folder, result, json.loads((folder / "training.json").read_text()))


@pytest.mark.parametrize("method, task", EMBEDDED)
def test_card_is_what_the_generator_renders_from_its_measurement(method, task):
    folder = CHECKPOINTS / METHODS[method].default_checkpoints[task]
    result = json.loads((folder / "heldout_metrics.json").read_text())
    training = json.loads((folder / "training.json").read_text())
    assert (folder / "README.md").read_text() == cards.render(folder, result, training)


def test_readme_tables_are_generated_from_the_results():
    text = (ROOT / "README.md").read_text()
    assert all(text.count(marker) == 1 for marker in readme_tables.MARKERS)
    assert text == readme_tables.rewrite_readme(text), "run: python -m leaderboard.cards --readme"


def test_readme_table_reads_the_rows_it_is_given(tmp_path):
    """A changed number in a results file changes the table: nothing in it is typed."""
    frame = pd.read_csv(RESULTS_DIR / "deblur__heldout.csv")
    frame.loc[frame.method == "identity", "psnr_y"] = 30.0
    frame.loc[frame.method == "regression", "psnr_y"] = 99.5
    frame.to_csv(tmp_path / "deblur__heldout.csv", index=False)
    table = readme_tables.readme_table("deblur", tmp_path)
    assert "| 30.00 dB |" in table and "**99.50 (+69.50)**" in table
    assert "diffir_direct" not in table and restorers.get_method("diffir_direct").title not in table


def test_restorers_never_imports_leaderboard():
    """The measuring side depends on the restoring side, never the other way round."""
    offenders = []
    for file in (ROOT / "restorers").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{file.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "leaderboard"]
    assert not offenders, offenders
