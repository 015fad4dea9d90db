"""What the pipeline holds out of training: main-object combinations and paraphrase templates.

Evaluation prompts are built only from held-out (colour, shape, motion) combinations, half of them worded
with templates that never appear in training, all with one object and a static camera.
"""
from __future__ import annotations

import numpy as np

from .captions import HELDOUT_TEMPLATES, TRAIN_TEMPLATES, caption
from .palette import BACKGROUND_NAMES, COLOUR_NAMES, allowed_colours
from .spec import DIRECTIONS, SHAPES, ClipSpec, make_object, CameraSpec
from .palette import BACKGROUNDS

EVAL_MOTIONS = DIRECTIONS + ["bounce", "fall"]


class HeldOut:
    """One held-out shape per (colour, evaluated motion) pair, drawn from a fixed seed."""

    def __init__(self, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.combos: set[tuple[str, str, str]] = set()
        for c in COLOUR_NAMES:
            for m in EVAL_MOTIONS:
                self.combos.add((c, str(rng.choice(SHAPES)), m))

    def __call__(self, colour: str, shape: str, motion: str) -> bool:
        return (colour, shape, motion) in self.combos


def eval_prompts(held: HeldOut | None = None, seed: int = 1000) -> list[dict]:
    """The held-out prompt set: a prompt, its clip spec (for a reference rendering) and the expected labels."""
    held = held or HeldOut()
    out = []
    for i, (c, s, m) in enumerate(sorted(held.combos)):
        rng = np.random.default_rng(seed + i)
        bgs = [b for b in BACKGROUND_NAMES if c in allowed_colours(b)]
        bg = str(rng.choice(bgs))
        o = make_object(rng, s, c, str(rng.choice(["medium", "large"])), m, BACKGROUNDS[bg]["floor"])
        o.drift = ""
        spec = ClipSpec(seed=seed + i, background=bg, objects=[o], camera=CameraSpec(),
                        bg_params={"hue": float(rng.uniform(-1, 1)), "phase": float(rng.uniform(0, 6.28)),
                                   "horizon": float(rng.uniform(0.45, 0.6)), "scale": 1.0})
        paraphrase = i % 2 == 1
        text = caption(spec, rng, HELDOUT_TEMPLATES if paraphrase else [t for t in TRAIN_TEMPLATES if "others" not in t])
        out.append({"id": i, "prompt": text, "colour": c, "shape": s, "motion": m, "background": bg,
                    "paraphrase": paraphrase, "seed": seed + i, "spec": spec.to_dict()})
    return out
