"""Burst joint demosaicking, denoising and x4 super-resolution (DP-IR's burst JDD-SR task).

* :mod:`.camera`: the synthetic camera that turns sRGB into linear raw and back (colour matrix, white balance,
  sRGB gamma), the RGGB mosaic and bilinear demosaicking;
* :mod:`.raw_burst`: :class:`~.raw_burst.RawBurst`, a burst of raw frames as a pipeline's input, and its 16-bit
  PNG layout;
* :mod:`.alignment`: each frame's global motion against the reference (OpenCV: phase correlation, then ECC);
* :mod:`.kernel_merge`: every raw sample of every frame placed on the x4 grid by that motion (kernel regression);
* :mod:`.merge_network`: the burst IR network, a small CNN on that merge (x4, to sRGB);
* :mod:`.pipeline`: that network as the task's one-shot ``regression`` pipeline, and DP-IR on top of it.

The forward operator (sRGB HQ -> burst) is :mod:`restorers.degradations.synthetic_burst`.
"""
