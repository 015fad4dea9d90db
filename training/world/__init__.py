"""The procedural world: seeded clip specifications, a numpy renderer, captions and ground truth.

A clip is described by a `ClipSpec` (pure data, JSON-serialisable); `render(spec)` turns it into frames
and per-frame ground truth; `caption(spec, rng)` describes it in words. Everything is a deterministic
function of the spec and its seed, so a data set is just a seed and a count.
"""
from .spec import ClipSpec, ObjectSpec, CameraSpec, sample_spec, WorldConfig
from .render import render, RenderResult
from .captions import caption
from .heldout import HeldOut, eval_prompts

__all__ = ["ClipSpec", "ObjectSpec", "CameraSpec", "sample_spec", "WorldConfig", "render", "RenderResult",
           "caption", "HeldOut", "eval_prompts"]
