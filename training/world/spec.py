"""Clip specifications: what is in a clip, as plain data, and the seeded sampler that draws them."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, asdict

import numpy as np

from .palette import BACKGROUND_NAMES, BACKGROUNDS, allowed_colours

SHAPES = ["ball", "cube", "triangle", "star", "ring"]
ROTATABLE = {"cube", "triangle", "star"}
DIRECTIONS = ["left", "right", "up", "down", "up-left", "up-right", "down-left", "down-right"]
MOTIONS = ["static"] + DIRECTIONS + ["bounce", "fall", "rotate", "grow", "shrink", "orbit"]
SIZES = {"small": 0.085, "medium": 0.12, "large": 0.16}    # radius as a fraction of the frame width
SPEEDS = {"slowly": 0.3, "": 0.45, "quickly": 0.6}         # distance travelled over the clip
CAMERAS = ["static", "pan-left", "pan-right", "zoom-in", "zoom-out"]


@dataclass
class WorldConfig:
    """Output format of the clips. 17 frames = 4k+1, Wan's causal temporal layout."""
    width: int = 64
    height: int = 64
    frames: int = 17
    fps: int = 16
    supersample: int = 2      # anti-aliasing: render at this factor and box-filter down


@dataclass
class ObjectSpec:
    shape: str
    colour: str
    size: str
    motion: str
    x: float                  # start centre, world units (0..1 across the frame, y down)
    y: float
    speed: str = ""           # "", "slowly", "quickly"
    spin: int = 1             # +1 clockwise, -1 counter-clockwise (rotate, orbit)
    drift: str = ""           # bounce: "", "left", "right"
    angle: float = 0.0        # starting orientation, radians
    params: dict = field(default_factory=dict)   # motion-specific numbers (gravity, contact frame, ...)

    @property
    def radius(self) -> float:
        return SIZES[self.size]


@dataclass
class CameraSpec:
    kind: str = "static"      # static, pan-left, pan-right, zoom-in, zoom-out
    amount: float = 0.0


@dataclass
class ClipSpec:
    seed: int
    background: str
    objects: list[ObjectSpec]
    camera: CameraSpec = field(default_factory=CameraSpec)
    bg_params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "ClipSpec":
        return ClipSpec(seed=d["seed"], background=d["background"],
                        objects=[ObjectSpec(**o) for o in d["objects"]],
                        camera=CameraSpec(**d["camera"]), bg_params=dict(d.get("bg_params", {})))

    @property
    def main(self) -> ObjectSpec:
        return self.objects[0]


def _start_for(motion: str, speed: str, r: float, floor: float, rng: np.random.Generator) -> tuple[float, float, dict]:
    """A start position that keeps the object on screen for its whole motion, plus motion parameters."""
    d = SPEEDS[speed]
    lo, hi = 0.5 - d / 2, 0.5 + d / 2
    jitter = lambda: rng.uniform(-0.06, 0.06)
    ymax = floor - r
    free_y = lambda: rng.uniform(max(0.22, r + 0.04), max(0.24, ymax - 0.02))
    free_x = lambda: rng.uniform(0.25, 0.75)
    p: dict = {}
    if motion == "left":
        return hi + jitter(), free_y(), p
    if motion == "right":
        return lo + jitter(), free_y(), p
    if motion == "up":
        return free_x(), min(ymax, 0.5 + d * 0.45) + jitter() * 0.5, p
    if motion == "down":
        return free_x(), 0.5 - d * 0.45 + jitter() * 0.5, p
    if "-" in motion and motion in DIRECTIONS:
        dy, dx = motion.split("-")
        x = (hi if dx == "left" else lo) + jitter() * 0.5
        y = (0.5 + d * 0.4 if dy == "up" else 0.5 - d * 0.4) + jitter() * 0.5
        return x, min(y, ymax), p
    if motion == "bounce":
        k = rng.uniform(3.0, 6.5)                   # frame of the first floor contact
        h = rng.uniform(0.22, 0.4)                  # drop height
        p.update(gravity=2 * h / k ** 2, restitution=float(rng.uniform(0.82, 0.92)))
        return free_x(), ymax - h, p
    if motion == "fall":
        k = rng.uniform(8.0, 13.0)
        y0 = rng.uniform(0.12, 0.22)
        p.update(gravity=2 * (ymax - y0) / k ** 2, restitution=0.12)
        return free_x(), y0, p
    if motion == "orbit":
        p.update(cx=0.5 + jitter() * 0.5, cy=min(0.48, ymax - 0.22), radius=float(rng.uniform(0.18, 0.24)),
                 sweep=float(rng.uniform(0.6, 1.0)) * 2 * math.pi)
        return 0.0, 0.0, p
    if motion in ("grow", "shrink"):
        return rng.uniform(0.35, 0.65), rng.uniform(0.35, min(0.6, ymax - 0.1)), p
    # static, rotate
    return free_x(), free_y(), p


def make_object(rng: np.random.Generator, shape: str, colour: str, size: str, motion: str, floor: float) -> ObjectSpec:
    speed = str(rng.choice(list(SPEEDS), p=[0.25, 0.5, 0.25])) if motion in DIRECTIONS else ""
    drift = str(rng.choice(["", "left", "right"], p=[0.6, 0.2, 0.2])) if motion == "bounce" else ""
    x, y, params = _start_for(motion, speed if motion in DIRECTIONS else "", SIZES[size], floor, rng)
    if drift:
        x = 0.5 + (0.12 if drift == "left" else -0.12) + rng.uniform(-0.05, 0.05)
    return ObjectSpec(shape=shape, colour=colour, size=size, motion=motion, x=float(x), y=float(y), speed=speed,
                      spin=int(rng.choice([-1, 1])), drift=drift,
                      angle=float(rng.uniform(0, 2 * math.pi)) if motion in ("rotate", "orbit") else 0.0,
                      params={k: float(v) for k, v in params.items()})


def motions_for(shape: str) -> list[str]:
    return [m for m in MOTIONS if m != "rotate" or shape in ROTATABLE]


def sample_spec(rng: np.random.Generator, seed: int, excluded=None, *, single: bool = False,
                static_camera: bool = False, crowd: int = 0) -> ClipSpec:
    """Draw one clip. `excluded(colour, shape, motion)` rejects held-out main-object combinations. `crowd` adds
    that many more small or medium objects of any shape, colour and motion, drawn after everything else (the
    clip is otherwise the one drawn without them): more objects per clip for the autoencoder's training."""
    background = str(rng.choice(BACKGROUND_NAMES))
    floor = BACKGROUNDS[background]["floor"]
    colours = allowed_colours(background)
    while True:
        shape = str(rng.choice(SHAPES))
        motion = str(rng.choice(motions_for(shape)))
        colour = str(rng.choice(colours))
        if excluded is None or not excluded(colour, shape, motion):
            break
    n = 1 if single else int(rng.choice([1, 2, 3], p=[0.55, 0.3, 0.15]))
    size = str(rng.choice(["medium", "large"] if n > 1 else list(SIZES)))
    objects = [make_object(rng, shape, colour, size, motion, floor)]
    for _ in range(n - 1):
        s2 = str(rng.choice(SHAPES))
        m2 = str(rng.choice([m for m in ["static", "rotate", "bounce", "left", "right"] if m in motions_for(s2)]))
        c2 = str(rng.choice([c for c in colours if c != colour]))
        objects.append(make_object(rng, s2, c2, "small", m2, floor))
    cam = CameraSpec()
    if not static_camera and rng.random() < 0.3:
        kind = str(rng.choice(CAMERAS[1:]))
        cam = CameraSpec(kind=kind, amount=float(rng.uniform(0.15, 0.25) if kind.startswith("pan") else rng.uniform(0.2, 0.35)))
    bg_params = {"hue": float(rng.uniform(-1, 1)), "phase": float(rng.uniform(0, 2 * math.pi)),
                 "horizon": float(rng.uniform(0.45, 0.6)), "scale": float(rng.uniform(0.8, 1.25))}
    for _ in range(crowd):
        s2 = str(rng.choice(SHAPES))
        objects.append(make_object(rng, s2, str(rng.choice(colours)), str(rng.choice(["small", "medium"])),
                                   str(rng.choice(motions_for(s2))), floor))
    return ClipSpec(seed=seed, background=background, objects=objects, camera=cam, bg_params=bg_params)
