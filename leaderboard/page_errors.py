"""How a handler's refusal reaches the page: one sentence in an error toast, never a traceback; and a run the
visitor stopped ends in silence.

Why the silence: the Stop press itself says "Stopped." (a toast and the cost line), and the server leaves the run
at its next check (a layer, a sampler step, a metric); an error toast would report the visitor's own click as a
failure, in red, for ten seconds. Stop does not cancel the Gradio event: a cancelled event marked every output
"Error". Instead :func:`begin_run`, bound unqueued to the Restore or Compare click, forgets the session's
earlier Stop, so that a Stop pressed while the run is queued or estimated is kept.
"""

from __future__ import annotations

import functools
import inspect
import logging
from contextlib import contextmanager

import gradio as gr

from .serving import STOPPED, RequestError, StoppedByUser, as_sentence

LOG = logging.getLogger("restorers.app")


@contextmanager
def user_errors():
    """A request the demo cannot serve reaches the page as one sentence (``gr.Error``); a stopped run passes
    through untouched, for :func:`quiet_when_stopped`."""
    try:
        yield
    except StoppedByUser:
        raise
    except RequestError as err:  # the log gets one line, not a traceback: the request was refused, nothing broke
        LOG.info("refused: %s", err)
        raise gr.Error(as_sentence(err), print_exception=False) from None


def quiet_when_stopped(outputs: int):
    """Decorate an event handler with ``outputs`` outputs: a stopped run leaves every output as it is (a generator
    handler simply ends). ``functools.wraps`` keeps the signature Gradio reads for ``gr.Request`` and progress."""
    def decorate(handler):
        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def stream(*args, **kwargs):
                try:
                    yield from handler(*args, **kwargs)
                except StoppedByUser:
                    return
            return stream

        @functools.wraps(handler)
        def call(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except StoppedByUser:
                return tuple(gr.skip() for _ in range(outputs)) if outputs > 1 else gr.skip()
        return call
    return decorate


def begin_run(request: gr.Request):
    """Restore or Compare was pressed: this session's earlier Stop is forgotten now, at the click (the queued
    handler would forget a Stop pressed while it waited or estimated); a Stop from here on ends the run."""
    if request is not None:
        STOPPED.discard(request.session_hash)
