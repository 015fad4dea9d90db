"""Read what a prompt asks for: the main object's colour, shape and motion, in the analyzer's labels."""
from __future__ import annotations

import re

from ..world.captions import NOUNS
from ..world.palette import BACKGROUNDS, COLOURS

MOTION_WORDS = [
    ("bounce", r"\b(bounc\w*|hops?|hopping)\b"),
    ("fall", r"\b(falls?|falling|drops?|dropping)\b"),
    ("rotate", r"\b(spins?|spinning|rotat\w*|turns? around)\b"),
    ("grow", r"\b(grows?|growing|bigger|expands?|larger)\b"),
    ("shrink", r"\b(shrinks?|shrinking|smaller)\b"),
    ("orbit", r"\b(circles?|circling|orbits?|round in circles)\b"),
    ("static", r"\b(still|rests|resting|sits)\b"),
]


def parse(prompt: str) -> dict:
    """First colour word, first shape noun, and the motion of the main (first-described) object."""
    p = prompt.lower()
    for bg in BACKGROUNDS.values():              # background words ("blue sky") are not the object's
        for phrase in bg["phrases"]:
            p = p.replace(phrase, " ")
    p = re.sub(r"\b(blue|clear) sky\b|\bgreen grass\b|\bsky\b", " ", p)
    words = re.findall(r"[a-z\-]+", p)
    colour = next((c for w in words for c, (_, syn) in COLOURS.items() if w in syn), None)
    shape = next((s for w in words for s, syn in NOUNS.items() if w in syn), None)
    clause = _main_clause(p)
    motion = None
    for name, pat in MOTION_WORDS:
        if re.search(pat, clause):
            motion = name
            break
    if motion is None or motion in ("bounce",):
        v = "up" if re.search(r"\b(up|upward|rises|top)\b", clause) else ("down" if re.search(r"\b(down|downward|descends|sinks|bottom)\b", clause) else "")
        h = "left" if re.search(r"\b(left|leftward)\b", clause) else ("right" if re.search(r"\b(right|rightward)\b", clause) else "")
        if motion is None:
            motion = f"{v}-{h}" if v and h else (v or h or None)
    return {"colour": colour, "shape": shape, "motion": motion}


def _main_clause(p: str) -> str:
    """The part of the prompt about the main object: up to a secondary-object or camera clause."""
    cut = re.split(r", while |, next to |, beside |, near |, as the camera|, while the camera| and while ", p)
    return cut[0]


def expected_label(motion: str | None) -> str | None:
    """The analyzer label a motion should produce (falling reads as moving down)."""
    if motion == "fall":
        return "down"
    return motion
