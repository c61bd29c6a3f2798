"""The one call contract every restoration method inherits.

A method subclasses :class:`RestorationPipeline`, registers its modules, **declares** what it is, and writes only
its math in :meth:`~RestorationPipeline.restore_padded`:

* ``nfe_networks``: the components whose forward calls count as NFE (hooks count them; nothing is declared as a
  number); ``step_networks``: those called once per sampler step (default: all of them), which splits FLOPs into
  a once-per-image and a per-NFE part;
* :meth:`size_requirements`: the multiple its input is padded to, and how (bottom/right, cropped back after);
* :meth:`step_limits`: ``(most, default)`` sampler steps, or None for a one-shot method;
* :meth:`mask_input`: whether it needs, ignores or refuses an inpainting mask;
* :meth:`own_tiles`: a method's own official tile loop, when it has one (Real-ESRGAN's tiles with context);
* ``whole_image_inputs``: call arguments that belong to the whole image (initial noise, an oracle's ground truth),
  so a call that passes one is never cut into tiles; ``compile_targets``: what ``enable_compile`` compiles;
  ``flops_countable``: False when its arithmetic runs outside torch (OpenCV), so its FLOPs are said to be unknown.

The base does the rest, once: input checking (images, mask, steps), batching, padding and cropping, tiling, the
sampling loop with diffusers' ``callback_on_step_end`` semantics (the tensors it returns are used), the progress
bar, ``maybe_free_model_hooks``, ``postprocess`` and the ``ImagePipelineOutput``. Generic code (the app, cost
counting, the sweep) reads these declarations; it never asks a pipeline what it is with ``hasattr``.
"""

from __future__ import annotations

import copy
import time
from contextlib import nullcontext
from typing import Callable

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.models.modeling_utils import ModelMixin

from .compile import eager_calls
from .image_io import InvalidImageError, images_to_batch, input_kind, postprocess
from .degradations.masks import mask_to_batch
from .padding import SizeRequirements
from .tiling import context_tiles, tiled_restore

MASK_REQUIRED, MASK_IGNORED, MASK_REFUSED = "required", "ignored", "refused"
StepCallback = Callable[..., dict]


class RestorationPipeline(DiffusionPipeline):
    # -- what a method declares --------------------------------------------------------------------------------
    nfe_networks: tuple[str, ...] = ()
    step_networks: tuple[str, ...] | None = None  # None: every NFE network runs once per step
    whole_image_inputs: tuple[str, ...] = ()
    flops_countable = True  # False: its arithmetic runs outside torch (OpenCV), so FLOPs are "not countable"
    compile_targets: dict[str, tuple[str, ...]] = {}
    input_kind = "image"  # what ``image`` must be: "image" (PIL) or "raw_burst" (restorers.burst.raw_burst)
    input_channels = 3  # channels of the LQ batch when none is at hand (FLOP counts): 3, or a burst's frames
    _callback_tensor_inputs = ["latents"]

    # automatic tiling: above this many LQ pixels a run is cut into default_tile windows sharing default_overlap
    max_untiled_pixels = 256 * 256
    default_tile, default_overlap = 256, 32

    @property
    def scale(self) -> int:
        """Output side / input side (the task's: 4 for x4 SR, 1 otherwise)."""
        return int(self.config.get("sf", 1))

    def size_requirements(self) -> SizeRequirements:
        return SizeRequirements()

    def step_limits(self) -> tuple[int, int] | None:
        """``(most, default)`` sampler steps, or None for a method without steps (its NFE does not depend on it)."""
        return None

    def mask_input(self) -> str:
        """``required`` (it inpaints), ``ignored`` (it takes one and leaves the holes) or ``refused``."""
        return MASK_REFUSED

    def own_tiles(self) -> tuple[int, int] | None:
        """``(tile, context)`` when the method runs its own official tile loop, else None (blended tiles)."""
        return None

    def start_step(self) -> int | None:
        """Where sampling starts, for methods with an accelerated start (DP-IR's tau); None for the others."""
        return None

    def set_start_step(self, step: int) -> None:
        raise ValueError(f"{type(self).__name__} has no start step to set")

    def sampler_name(self, steps: int | None) -> str:
        """How it samples at ``steps`` (DP-IR: "ddpm" or "ddim"); empty when there is only one way."""
        return ""

    def restore_padded(self, lq: torch.Tensor, num_inference_steps: int | None, generator,
                       callback_on_step_end: StepCallback | None, mask: torch.Tensor | None = None,
                       **method_inputs) -> torch.Tensor:
        """The method's own math: padded LQ (B, 3, H, W) in [0, 1] -> (B, 3, sf H, sf W), roughly in [0, 1]."""
        raise TypeError(f"{type(self).__name__} must define restore_padded")

    # -- what every method shares --------------------------------------------------------------------------------
    @property
    def compute_dtype(self) -> torch.dtype:
        for name in self.nfe_networks:
            module = getattr(self, name, None)
            if isinstance(module, torch.nn.Module):
                return next((p.dtype for p in module.parameters()), torch.float32)
        return torch.float32

    def networks_counted(self) -> dict[str, torch.nn.Module]:
        """The NFE networks by name (a converted checkpoint may lack an optional one)."""
        return {n: m for n in self.nfe_networks if isinstance(m := getattr(self, n, None), torch.nn.Module)}

    def networks_per_step(self) -> dict[str, torch.nn.Module]:
        names = self.nfe_networks if self.step_networks is None else self.step_networks
        return {n: m for n in names if isinstance(m := getattr(self, n, None), torch.nn.Module)}

    def check_steps(self, num_inference_steps) -> int | None:
        """None (the default) or a whole number within :meth:`step_limits`; one-shot methods ignore it."""
        limits = self.step_limits()
        if num_inference_steps is None or limits is None:
            return None
        most, default = limits
        if isinstance(num_inference_steps, bool) or int(num_inference_steps) != num_inference_steps:
            raise ValueError(f"num_inference_steps must be a whole number, got {num_inference_steps!r}")
        if not 1 <= int(num_inference_steps) <= most:
            raise ValueError(f"this pipeline takes 1 to {most} steps (None: its default, {default}); "
                             f"got {num_inference_steps}")
        return int(num_inference_steps)

    def mask_batch(self, mask_image, shape: torch.Size) -> torch.Tensor | None:
        """The mask as (B, 1, H, W) in {0, 1} (1 = fill), or None; refused or required as the method declares."""
        kind = self.mask_input()
        if mask_image is None:
            if kind == MASK_REQUIRED:
                raise InvalidImageError("inpainting needs a mask image: white marks the pixels to fill")
            return None
        if kind == MASK_REFUSED:
            raise InvalidImageError("this pipeline does not inpaint; it takes no mask image")
        return mask_to_batch(mask_image, shape)

    @staticmethod
    def step_callback(callback, names: list[str] | None) -> StepCallback | None:
        """diffusers' ``callback_on_step_end(pipe, i, t, tensors)``: it sees the tensors named in ``names`` and
        may return replacements, which the loop uses. Raising in it stops the run."""
        if callback is None:
            return None

        def call(pipe, i, t, tensors):
            chosen = {k: tensors[k] for k in names if k in tensors} if names is not None else tensors
            returned = callback(pipe, i, t, chosen)
            return returned if isinstance(returned, dict) else {}
        return call

    def sampling_loop(self, timesteps, latents: torch.Tensor, step: Callable, callback: StepCallback | None):
        """The denoising loop all our samplers share (each predicts x0 and asks its scheduler for the next state).

        ``step(latents, t) -> (latents, tensors)``; ``tensors`` are offered to the callback beside ``latents``.
        """
        for i, t in enumerate(self.progress_bar(timesteps)):
            latents, tensors = step(latents, t)
            if callback is not None:
                returned = callback(self, i, t, {"latents": latents, **tensors})
                latents = returned.get("latents", latents)
        return latents

    def restore_tensor(self, lq: torch.Tensor, num_inference_steps: int | None = None, generator=None,
                       callback_on_step_end: StepCallback | None = None, mask: torch.Tensor | None = None,
                       **method_inputs) -> torch.Tensor:
        """LQ (B, 3, h, w) in [0, 1] -> restored (B, 3, sf h, sf w) in [0, 1], free of PIL (so that cost counting
        can run it on the meta device): pad, the method's math (in its own tiles if it has them), crop, and for
        inpainting keep the known pixels exactly as given."""
        height, width = lq.shape[-2:]
        if mask is None and self.mask_input() == MASK_REQUIRED and lq.device.type == "meta":
            mask = torch.zeros_like(lq[:, :1])  # cost counting: any mask costs the same
        needs = self.size_requirements()
        padded = needs.pad(lq)
        extras = {"mask": needs.pad(mask)} if mask is not None and self.mask_input() == MASK_REQUIRED else {}

        def run(x, **window):
            return self.restore_padded(x, num_inference_steps, generator, callback_on_step_end, **window,
                                       **method_inputs)

        tiles = self.own_tiles()
        restored = context_tiles(run, padded, *tiles, self.scale, extras) if tiles else run(padded, **extras)
        restored = restored[..., : height * self.scale, : width * self.scale]
        if extras:
            restored = mask * restored + (1.0 - mask) * lq
        return restored.clamp(0.0, 1.0)

    def automatic_tile(self, height: int, width: int) -> int:
        """The tile side an LQ of this size is restored in by default (0: in one piece)."""
        if self.own_tiles():
            return 0
        tile = max(self.default_tile, self.size_requirements().multiple_of)
        return tile if height * width > max(self.max_untiled_pixels, tile * tile) else 0

    def compile_pending(self, height: int, width: int) -> bool:
        """Whether restoring an LQ of this size compiles first: the compiled mode is on, this size runs compiled
        (tiled, when only tiles are compiled) and nothing has been compiled yet in this process."""
        from .compile import compiled_functions

        functions = [f for name in self.compile_targets if getattr(self, name, None) is not None
                     for f in compiled_functions(getattr(self, name))]
        if not functions or (self.__dict__.get("_compile_tiles_only") and not self.automatic_tile(height, width)):
            return False
        return not any(f.has_compiled() for f in functions)

    def compile_tile_now(self) -> float:
        """Compile the tile shape now (a server's start) instead of inside a visitor's first large photo: an input
        one pixel wider than a tile, restored in two tile-shaped windows. Returns the seconds it took (0.0 when
        nothing is pending)."""
        tile = max(self.default_tile, self.size_requirements().multiple_of)
        if self.input_kind != "image" or not self.compile_pending(tile, tile + 1):
            return 0.0
        from PIL import Image

        image = Image.new("RGB", (tile + 1, tile), (128, 128, 128))
        mask = None
        if self.mask_input() == MASK_REQUIRED:
            mask = Image.new("L", image.size, 0)
            mask.paste(255, (tile // 4, tile // 4, tile // 2, tile // 2))
        started = time.perf_counter()
        self(image=image, mask_image=mask, generator=torch.Generator().manual_seed(0), tile_size=tile)
        return time.perf_counter() - started

    def restore_tiled(self, restore: Callable[..., torch.Tensor], lq: torch.Tensor, generator=None,
                      tile_size: int | None = None, tile_overlap: int | None = None,
                      extras: dict[str, torch.Tensor] | None = None, weighting: str = "feather",
                      progress: bool = True) -> torch.Tensor:
        """Run ``restore(window, generator=..., **extra_windows)`` over blended tiles when the input is large
        (above ``max_untiled_pixels``) or ``tile_size`` asks for it; ``tile_size=0`` never tiles."""
        height, width = lq.shape[-2:]
        if self.own_tiles():
            tile_size = 0  # the method's own official tile loop runs inside restore_tensor
        if tile_size is None:
            tile_size = self.automatic_tile(height, width)
        if not tile_size or (tile_size >= height and tile_size >= width):
            with eager_calls() if self.__dict__.get("_compile_tiles_only") else nullcontext():
                return restore(lq, generator=generator, **(extras or {}))
        if isinstance(generator, (list, tuple)):
            raise ValueError("tiled restoration takes one generator, not a list")
        overlap = self.default_overlap if tile_overlap is None else int(tile_overlap)
        return tiled_restore(restore, lq, int(tile_size), overlap, self.scale, generator, extras, weighting, progress)

    @torch.no_grad()
    def __call__(self, image, mask_image=None, num_inference_steps: int | None = None,
                 generator: torch.Generator | list[torch.Generator] | None = None, output_type: str = "pil",
                 return_dict: bool = True, callback_on_step_end=None,
                 callback_on_step_end_tensor_inputs: list[str] | None = None, tile_size: int | None = None,
                 tile_overlap: int | None = None, tile_weighting: str = "feather", **method_inputs):
        """Restore ``image`` (a PIL image or a list of equally sized ones; the degraded input).

        ``mask_image``: white = the pixels to fill (inpainting methods only). ``num_inference_steps``: within
        :meth:`step_limits` (None: the method's default; one-shot methods ignore it). ``callback_on_step_end(pipe,
        i, t, tensors)`` runs after each sampler step as in diffusers: it sees the tensors named in
        ``callback_on_step_end_tensor_inputs`` (default ``["latents"]``), what it returns replaces them, and an
        exception raised there stops the run. ``tile_size`` / ``tile_overlap`` (LQ pixels): restore in overlapping
        tiles (:mod:`restorers.tiling`); by default only inputs over 256 x 256 are tiled; 0 never tiles;
        ``tile_weighting="uniform"`` with 512 / 64 is ResShift's official chopping. Other keyword arguments are the
        method's own (DP-IR's ``tau``, DiffIR's ``latents``).
        """
        steps = self.check_steps(num_inference_steps)
        names = list(callback_on_step_end_tensor_inputs or ["latents"])
        unknown = [n for n in names if n not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs may name {self._callback_tensor_inputs}, "
                             f"not {unknown}")
        if input_kind(image) != self.input_kind:
            raise InvalidImageError("this pipeline restores raw bursts (a RawBurst of RGGB frames), not an image"
                                    if self.input_kind == "raw_burst" else
                                    "this pipeline restores an image, not a raw burst")
        lq = images_to_batch(image).to(device=self._execution_device, dtype=self.compute_dtype)
        mask = self.mask_batch(mask_image, lq.shape)
        extras = {"mask": mask.to(lq.device, lq.dtype)} if mask is not None else {}
        method_inputs = self.prepare_method_inputs(method_inputs, lq)
        if any(method_inputs.get(k) is not None for k in self.whole_image_inputs):
            tile_size = 0  # an input that belongs to the whole image
        callback = self.step_callback(callback_on_step_end, names)

        def restore(window, generator, **window_extras):
            return self.restore_tensor(window, steps, generator, callback, **window_extras, **method_inputs)

        restored = self.restore_tiled(restore, lq, generator, tile_size, tile_overlap, extras, tile_weighting)
        output = postprocess(restored, output_type)
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=output) if return_dict else (output,)

    def prepare_method_inputs(self, method_inputs: dict, lq: torch.Tensor) -> dict:
        """A method's own call arguments, converted for :meth:`restore_padded` (default: as given)."""
        return method_inputs

    # -- compiled inference, FLOP counting -----------------------------------------------------------------------
    def use_channels_last(self) -> RestorationPipeline:
        """Keep every network's weights (and so its activations) channels-last: oneDNN's convolutions then skip
        a layout reorder per call, 1.3-2x faster on a CPU for the same arithmetic (benchmarks/throughput.py);
        outputs agree with the default layout to the last rounding step."""
        for component in self.components.values():
            if isinstance(component, torch.nn.Module):
                component.to(memory_format=torch.channels_last)
        return self

    def enable_compile(self, tiles_only: bool = False) -> RestorationPipeline:
        """Compile ``compile_targets`` for CPU inference (:mod:`restorers.compile`). ``tiles_only``: only the
        windows of a tiled run use the compiled code (one fixed shape, compiled once); untiled inputs of any other
        size run eagerly instead of compiling anew: the demo's setting."""
        from .compile import compile_methods

        if not self.compile_targets:
            raise ValueError(f"{type(self).__name__} has no compiled mode")
        self.__dict__["_compile_tiles_only"] = bool(tiles_only)
        for name, methods in self.compile_targets.items():
            if getattr(self, name, None) is not None:
                compile_methods(getattr(self, name), methods)
        return self

    def disable_compile(self) -> RestorationPipeline:
        from .compile import uncompile_methods

        self.__dict__.pop("_compile_tiles_only", None)
        for name in self.compile_targets:
            if getattr(self, name, None) is not None:
                uncompile_methods(getattr(self, name))
        return self

    def meta_copy(self) -> RestorationPipeline:
        """The same pipeline with every network rebuilt without weights on the meta device (free FLOP counting)."""
        from .nn.spandrel_network import SpandrelNetwork

        parts = {}
        for name, component in self.components.items():
            if isinstance(component, SpandrelNetwork):  # rebuilt from its weights' keys, not from a config
                parts[name] = component.meta_copy()
            elif isinstance(component, ModelMixin):
                with torch.device("meta"):
                    parts[name] = type(component).from_config(component.config)
            else:
                parts[name] = copy.deepcopy(component)
        extra = {k: v for k, v in self.config.items() if not k.startswith("_") and k not in parts}
        clone = type(self)(**parts, **extra)
        clone.set_progress_bar_config(disable=True)
        return clone
