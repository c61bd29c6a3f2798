"""How long a request will take, said before it runs: on the Restore and Compare buttons, and as the question
a long run asks first.

The seconds come from :mod:`leaderboard.estimate` (counted FLOPs over this server's measured speed) for the
LQ size the run will restore: after fitting the upload to the pixel budget, and degrading it first when asked.
"""

from __future__ import annotations

import restorers

from .estimate import LONG_RUN_SECONDS, duration_text, estimate_seconds, measured
from .serving import (
    RUN_LOCK,
    RequestError,
    choice_of,
    fitted_size,
    get_pipeline,
    input_budget,
    over_budget,
    parse_steps,
    read_input,
    speed_key,
)


# a method the demo compiles (leaderboard.device.demo_compiles) restores a large photo in tiles, compiled for their
# one shape by the first such run after a start unless the start compiled it already (the landing tab's default):
# for ResShift 40-109 s at stop 34 (benchmarks/compiled_demo.py); off by default since the eager code is faster
COMPILE_NOTE = " + compiling once for large photos"


def planned_lq_size(task, size: tuple[int, int], degrade_first: bool, fit: str) -> tuple[int, int]:
    """The LQ size a run of this upload will restore (after fitting, and degrading first when asked)."""
    budget = input_budget(task, degrade_first)
    if size[0] * size[1] > budget and fit not in ("crop", "downscale"):
        raise over_budget(size, budget)
    width, height = fitted_size(size, budget)
    if degrade_first:
        width, height = width - width % task.scale, height - height % task.scale
        return width // task.scale, height // task.scale
    return width, height


def restore_estimate(task_id: str, method: str, image, steps, degrade_first: bool, fit: str = "refuse",
                     ir_network: str | None = None) -> float | None:
    """Seconds a Restore with these settings will take on this server (None: not known yet)."""
    return restore_plan(task_id, method, image, steps, degrade_first, fit, ir_network)[0]


def restore_plan(task_id: str, method: str, image, steps, degrade_first: bool, fit: str = "refuse",
                 ir_network: str | None = None) -> tuple[float | None, bool]:
    """(seconds, compiles first): the estimate, and whether the run first compiles the method's tile shape
    (once per server start; it depends on the compiler's work, not on FLOPs, so it is said, not estimated)."""
    task, choice = restorers.get_task(task_id), choice_of(method, task_id)
    width, height = planned_lq_size(task, read_input(image).size, degrade_first, fit)
    pipe = get_pipeline(choice, task_id, ir_network)
    steps = parse_steps(steps, pipe.step_limits(), choice.title)
    return (estimate_seconds(pipe, speed_key(choice, ir_network), (width, height), steps),
            pipe.compile_pending(height, width))


def plan_of(task: str, method: str, image, steps, degrade_first: bool, fit: str, ir_network) -> tuple[float | None,
                                                                                                       bool]:
    """:func:`restore_plan`, or (None, False) when it cannot be estimated (no image yet, a refusal to come)."""
    try:
        return restore_plan(task, method, image, steps, degrade_first, fit, ir_network)
    except RequestError:
        return None, False


def estimate_of(task: str, method: str, image, steps, degrade_first: bool, fit: str, ir_network) -> float | None:
    """Seconds a run will take, or None when it cannot be estimated (no image yet, a refusal to come)."""
    return plan_of(task, method, image, steps, degrade_first, fit, ir_network)[0]


def restore_button_text(task: str, method: str, image, steps, degrade_first: bool, fit: str,
                        ir_network=None) -> str:
    """'Restore (about 12 s)'; plain 'Restore' with no image yet or one the run will refuse (it says why then)."""
    try:
        seconds, compiles = restore_plan(task, method, image, steps, degrade_first, fit, ir_network)
    except RequestError:
        return "Restore"
    return f"Restore ({duration_text(seconds)}{COMPILE_NOTE if compiles else ''})"


def compare_button_text(task: str, image, degrade_first: bool, fit: str, ir_network, methods: list[str]) -> str:
    """How many methods a Compare runs and how long they will take together."""
    if not methods:
        return "Compare (tick a method)"
    count = f"{len(methods)} method{'s' * (len(methods) != 1)}"
    if not image:
        return f"Compare {count}"
    plans = []
    for method in methods:
        if RUN_LOCK.locked():  # a run started: counting the rest now would share its CPU, and a Stop would not
            return f"Compare {count}"  # free it; the page counts again when a run ends (app.py: job, comparing)
        plans.append(plan_of(task, method, image, None, degrade_first, fit, ir_network))
    known = [seconds for seconds, _ in plans if seconds is not None]
    total = duration_text(sum(known)) if known else duration_text(None)
    compiles = COMPILE_NOTE if any(compiles for _, compiles in plans) else ""
    return f"Compare {count} ({total}{' + unknown' if len(known) < len(plans) and known else ''}{compiles})"


def long_run_question(task: str, method: str, image, steps, degrade_first: bool, fit: str,
                      ir_network) -> str | None:
    """The question a run over ``LONG_RUN_SECONDS`` asks before it starts, or None to start at once. Only a
    method whose speed was measured here asks: the first guess (a conv stack timed once) may be far off."""
    seconds = estimate_of(task, method, image, steps, degrade_first, fit, ir_network)
    if seconds is None or seconds <= LONG_RUN_SECONDS or not measured(
            speed_key(choice_of(method, task), ir_network)):
        return None
    return (f"**This run will take {duration_text(seconds)}** on this server (counted FLOPs at this server's "
            "measured speed). Press Restore again to start it, or choose Downscale under 'Too large?' for a "
            "quicker one.")
