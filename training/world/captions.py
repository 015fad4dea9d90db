"""Captions: varied templates and synonyms describing a clip spec."""
from __future__ import annotations

import numpy as np

from .palette import BACKGROUNDS, COLOURS
from .spec import ClipSpec, ObjectSpec

NOUNS = {"ball": ["ball", "sphere", "orb"], "cube": ["cube", "box", "block"], "triangle": ["triangle"],
         "star": ["star"], "ring": ["ring", "hoop", "donut"]}
SIZE_WORDS = {"small": ["small", "little", "tiny"], "medium": [""], "large": ["large", "big"]}
DIR_WORDS = {"left": ["left", "to the left", "leftward"], "right": ["right", "to the right", "rightward"],
             "up": ["up", "upward"], "down": ["down", "downward"]}

# Training templates and the templates the pipeline holds out for evaluation (unseen paraphrases).
TRAIN_TEMPLATES = ["{obj} {mot} {bg}", "{bg}, {obj} {mot}", "{obj} {mot}", "a video of {obj} that {mot} {bg}",
                   "{obj} {mot} {bg}{others}", "{bg}, {obj} {mot}{others}"]
HELDOUT_TEMPLATES = ["watch as {obj} {mot} {bg}", "footage of {obj} which {mot} {bg}", "{bg} we see {obj} that {mot}"]


def _pick(rng, xs):
    return xs[int(rng.integers(len(xs)))]


def object_phrase(o: ObjectSpec, rng, *, with_size: bool) -> str:
    size = _pick(rng, SIZE_WORDS[o.size]) if with_size else ""
    words = [w for w in (size, _pick(rng, COLOURS[o.colour][1]), _pick(rng, NOUNS[o.shape])) if w]
    return " ".join(["an" if words[0][0] in "aeiou" else "a"] + words)


def motion_phrase(o: ObjectSpec, rng) -> str:
    m = o.motion
    speed = o.speed
    if m in DIR_WORDS:
        d = _pick(rng, DIR_WORDS[m])
        verbs = {"left": ["moves", "slides", "drifts", "travels", "glides"],
                 "right": ["moves", "slides", "drifts", "travels", "glides"],
                 "up": ["moves", "floats", "rises", "drifts", "flies"],
                 "down": ["moves", "sinks", "slides", "drifts", "descends"]}[m]
        if o.shape == "ball" and m in ("left", "right"):
            verbs = verbs + ["rolls", "rolls"]
        v = _pick(rng, verbs)
        if v == "rises":
            d = _pick(rng, ["", "up", "upward"])
        s = f"{v} {d}".strip()
        return f"{s} {speed}" if speed and rng.random() < 0.5 else (f"{speed} {s}" if speed else s)
    if "-" in m:
        vy, hx = m.split("-")
        v = _pick(rng, ["moves", "drifts", "glides", "travels"])
        form = int(rng.integers(3))
        if form == 0:
            return f"{v} diagonally {vy} and to the {hx}"
        if form == 1:
            return f"{v} {vy} and {hx}"
        return f"{v} diagonally toward the {'top' if vy == 'up' else 'bottom'} {hx}"
    if m == "bounce":
        base = _pick(rng, ["bounces", "bounces up and down", "hops", "keeps bouncing"])
        if o.drift:
            return f"{_pick(rng, ['bounces', 'hops'])} {_pick(rng, DIR_WORDS[o.drift])}"
        return base
    if m == "fall":
        return _pick(rng, ["falls", "falls down", "drops", "drops to the ground", "falls to the floor"])
    if m == "rotate":
        d = "clockwise" if o.spin > 0 else "counterclockwise"
        return _pick(rng, [f"spins {d}", f"rotates {d}", "spins in place", "rotates", "turns around"])
    if m == "grow":
        return _pick(rng, ["grows", "gets bigger", "expands", "grows larger"])
    if m == "shrink":
        return _pick(rng, ["shrinks", "gets smaller", "shrinks away", "becomes smaller"])
    if m == "orbit":
        return _pick(rng, ["circles around", "moves in a circle", "orbits the center", "goes round in circles"])
    return _pick(rng, ["sits still", "rests", "stays still", "is resting"])


CAMERA_PHRASES = {"pan-left": ["as the camera pans left", "while the camera pans to the left"],
                  "pan-right": ["as the camera pans right", "while the camera pans to the right"],
                  "zoom-in": ["as the camera zooms in", "while the camera slowly zooms in"],
                  "zoom-out": ["as the camera zooms out", "while the camera pulls back"]}


def others_phrase(spec: ClipSpec, rng) -> str:
    parts = []
    for o in spec.objects[1:]:
        obj = object_phrase(o, rng, with_size=True)
        if o.motion == "static":
            parts.append(f"{_pick(rng, ['next to', 'beside', 'near'])} {obj}")
        else:
            parts.append(f"while {obj} {motion_phrase(o, rng)}")
    return (", " + " and ".join(parts)) if parts else ""


def caption(spec: ClipSpec, rng: np.random.Generator, templates: list[str] | None = None) -> str:
    templates = templates or TRAIN_TEMPLATES
    tpl = _pick(rng, templates)
    others = others_phrase(spec, rng)
    if "{others}" not in tpl and others and rng.random() < 0.7:
        tpl = tpl + "{others}"
    text = tpl.format(obj=object_phrase(spec.main, rng, with_size=rng.random() < 0.4),
                      mot=motion_phrase(spec.main, rng), bg=_pick(rng, BACKGROUNDS[spec.background]["phrases"]),
                      others=others)
    if spec.camera.kind != "static":
        text += ", " + _pick(rng, CAMERA_PHRASES[spec.camera.kind])
    return " ".join(text.replace(" ,", ",").split())
