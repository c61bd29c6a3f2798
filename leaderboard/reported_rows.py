"""The papers' own numbers as results rows (``source = reported``), read from the project's fact sheet.

    python -m leaderboard.reported_rows      # rewrite leaderboard/reported.csv from ../shared/reference/reported.md

No number here is typed: every cell is parsed from ``reported.md``, which copied them from the sources it names
(DiffIR's tables from the authors' own table images; ResShift's few cells from third-party quotes, marked so).
Each row says where it was read (``citation``), how sure the sheet is (in ``notes``) and its protocol: which
PSNR channels, which border crop, which LPIPS backbone. A reported row is ranked beside measured rows only when
dataset and protocol agree, which no row here does (the papers' benchmarks are not shipped), so the Leaderboard
shows them as their own rows with their own markers. DP-IR's tables could not be read: it has no row.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .results import COLUMNS, REPORTED_FILE, write_results

SHEET = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "reported.md"
DIFFIR = "DiffIR (Xia et al., ICCV 2023)"
DIFFIR_SOURCE = "authors' table image figs/{image} in Zj-BinXia/DiffIR @293f86c, via ../shared/reference/reported.md"
OUR_METHODS = {"DiffIR_S2 (Ours)": "diffir", "Real-ESRGAN": "realesrgan", "ResShift-15": "resshift",
               "ResShift (15 steps) [unsure which paper version]": "resshift"}
Y = "Y (BT.601 YCbCr)"  # basicsr's test_y_channel, the convention our own rows use


def sections(text: str) -> dict[str, str]:
    """'1.2' -> the text under '### 1.2 ...' up to the next heading."""
    parts = re.split(r"^### (\d+\.\d+) .*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def table(section: str) -> list[dict[str, str]]:
    """The first markdown table of a section, one dict per body row (cells stripped)."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]


def number(cell: str) -> float | None:
    cell = cell.replace("[unsure]", "").strip()
    return None if cell in ("", "–", "-") else float(cell)


def base(method: str, task: str, dataset: str, citation: str, notes: str, cells: dict | None = None,
         **values) -> dict:
    unsure = [column for column, cell in (cells or {}).items() if "[unsure]" in cell and column != "Method"]
    if unsure:
        notes += f"; marked [unsure] in the sheet: {', '.join(unsure)}"
    row = {"method": OUR_METHODS.get(method, method), "checkpoint": "as published", "task": task,
           "dataset": dataset, "source": "reported", "citation": citation, "notes": notes}
    row.update(values)
    return row


def diffir_inpainting(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        for dataset, size in (("Places narrow", "512x512"), ("Places wide", "512x512"),
                              ("CelebA-HQ narrow", "256x256"), ("CelebA-HQ wide", "256x256")):
            fid, lpips = number(cells[f"{dataset} FID"]), number(cells[f"{dataset} LPIPS"])
            if fid is None and lpips is None:
                continue
            rows.append(base(cells["Method"], "inpaint", f"{dataset} masks ({size})",
                             f"{DIFFIR}, inpainting table (Table 1 [unsure]), row {cells['Method']}; "
                             + DIFFIR_SOURCE.format(image="inpainting-quan.jpg") + " §1.1",
                             "primary; table number unsure; narrow/wide most likely LaMa's thin/thick masks "
                             "[inferred]; scored by LaMa's evaluate_predicts.py",
                             fid=fid, lpips_unstated=lpips, params=number(cells["#Params (M)"]) * 1e6,
                             lq_size=size, lpips_backbone="LaMa's evaluator (not stated)"))
    return rows


def diffir_sisr(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        for dataset in ("Set14", "Urban100", "Manga109", "General100", "DIV2K100"):
            psnr, lpips = (number(v) for v in cells[dataset].split("/"))
            rows.append(base(cells["Method"], "sr_x4", dataset,
                             f"{DIFFIR}, GAN-based x4 SISR table (Table 2 [unsure]), row {cells['Method']}; "
                             + DIFFIR_SOURCE.format(image="SISR-quan.jpg") + " §1.2",
                             "primary; table number unsure; protocol from the authors' metric scripts",
                             psnr_y=psnr, lpips=lpips, psnr_channels=Y, crop_border=4, lpips_backbone="alex"))
    return rows


def diffir_realsr(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        for dataset, label in (("RealSRSet", "RealSR (Cai et al.) Canon"), ("NTIRE2020-T1", "NTIRE2020 Track 1")):
            rows.append(base(cells["Method"], "realsr_x4", label,
                             f"{DIFFIR}, real-world x4 SR table (Table 3 [unsure]), row {cells['Method']}; "
                             + DIFFIR_SOURCE.format(image="realworldsr-quan.jpg") + " §1.3",
                             f"primary; table number unsure; Mult-Adds {cells['Mult-Adds (T)']} T as printed "
                             "(input size not visible)",
                             lpips_vgg=number(cells[f"{dataset} LPIPS↓"]), dists=number(cells[f"{dataset} DISTS↓"]),
                             psnr_y=number(cells[f"{dataset} PSNR↑"]), psnr_channels=Y, crop_border=4,
                             lpips_backbone="vgg"))
    return rows


def diffir_deblur(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        for dataset in ("GoPro", "HIDE"):
            psnr, ssim = number(cells[f"{dataset} PSNR"]), number(cells[f"{dataset} SSIM"])
            if psnr is None and ssim is None:
                continue
            rows.append(base(cells["Method"], "deblur", dataset,
                             f"{DIFFIR}, motion deblurring table (Table 4 [unsure]), row {cells['Method']}; "
                             + DIFFIR_SOURCE.format(image="deblur-quan.jpg") + " §1.4",
                             "primary; table number unsure; trained on GoPro",
                             psnr_rgb=psnr, ssim_rgb=ssim, psnr_channels="RGB (MATLAB psnr/ssim on uint8)",
                             crop_border=0))
    return rows


def quoted(cells: dict) -> str:
    return cells["where quoted"].split(" (index")[0]


def resshift_imagenet(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        method = cells["Method"].replace(" (for context)", "").split("-")[0] if "SinSR" in cells["Method"] \
            else cells["Method"]
        rows.append(base(method, "realsr_x4", "ImageNet-Test (ResShift's, 64 to 256)",
                         f"ResShift (Yue et al., NeurIPS 2023), ImageNet-Test x4 (Table 3), row {cells['Method']}: "
                         f"third-party, {cells['where quoted']}; via ../shared/reference/reported.md §2.2",
                         "third-party quote, not read from the paper; PSNR/SSIM most likely on Y [inferred]; the "
                         "two quoted ResShift-15 CLIPIQA values conflict",
                         cells, checkpoint=f"as quoted: {quoted(cells)}", nfe=number(cells["NFE"]),
                         psnr_y=number(cells["PSNR"]), ssim_y=number(cells["SSIM"]),
                         lpips_unstated=number(cells["LPIPS"]), clipiqa=number(cells["CLIPIQA"]),
                         musiq=number(cells["MUSIQ"]), lq_size="64x64", psnr_channels="Y [inferred]",
                         lpips_backbone="not stated"))
    return rows


def resshift_realworld(section: str) -> list[dict]:
    rows = []
    for cells in table(section):
        method = "SinSR" if "SinSR" in cells["Method"] else cells["Method"]
        nfe = 1 if method == "SinSR" else 15
        for dataset in ("RealSR", "RealSet65"):
            rows.append(base(method, "realsr_x4", f"{dataset} (no HQ: no-reference metrics)",
                             f"ResShift (Yue et al., NeurIPS 2023), real-world table (Table 4), row "
                             f"{cells['Method']}: third-party, {cells['where quoted']}; via "
                             "../shared/reference/reported.md §2.3",
                             "third-party quote, not read from the paper",
                             cells, checkpoint=f"as quoted: {quoted(cells)}", nfe=nfe,
                             clipiqa=number(cells[f"{dataset} CLIPIQA"]), musiq=number(cells[f"{dataset} MUSIQ"])))
    return rows


def resshift_inpainting(section: str) -> list[dict]:
    found = re.search(r"ImageNet inpainting, ResShift, journal Table 4 \[unsure\]: LPIPS (\d+\.\d+), CLIPIQA (\d+\.\d+)",
                      section)
    issue = re.search(r"https://github\.com/zsyOAOA/ResShift/issues/\d+", section)
    return [base("resshift", "inpaint", "ImageNet inpainting (ResShift journal)",
                 "ResShift journal (Yue et al., TPAMI), ImageNet inpainting (Table 4 [unsure]): \"expected\" values "
                 f"a user quotes in {issue[0]}; via ../shared/reference/reported.md §2.5",
                 "third-party quote; table number unsure; 4 steps as every journal model",
                 checkpoint="as quoted: ResShift issue #67", nfe=4, lpips_unstated=float(found[1]),
                 clipiqa=float(found[2]), lpips_backbone="not stated")]


PARSERS = {"1.1": diffir_inpainting, "1.2": diffir_sisr, "1.3": diffir_realsr, "1.4": diffir_deblur,
           "2.2": resshift_imagenet, "2.3": resshift_realworld, "2.5": resshift_inpainting}


def reported_rows(sheet: Path = SHEET) -> list[dict]:
    found = sections(sheet.read_text())
    rows = [row for key, parse in PARSERS.items() for row in parse(found[key])]
    unknown = {k for row in rows for k in row} - set(COLUMNS)
    if unknown:
        raise ValueError(f"columns outside the results schema: {sorted(unknown)}")
    return rows


def main(argv: list[str] | None = None) -> int:
    rows = reported_rows()
    REPORTED_FILE.unlink(missing_ok=True)
    write_results(rows, REPORTED_FILE)
    print(f"wrote {len(rows)} reported rows to {REPORTED_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
