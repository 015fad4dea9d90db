"""Trajectories: where each object is, how big and how turned, frame by frame, and when it touches the floor."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .spec import ObjectSpec, SPEEDS


@dataclass
class Track:
    x: np.ndarray          # (T,) centre, world units
    y: np.ndarray
    scale: np.ndarray      # (T,) multiplier of the radius
    angle: np.ndarray      # (T,) radians
    contact: np.ndarray    # (T,) bool: the object hits the floor during this frame


def _bounce(y0: float, floor_y: float, g: float, e: float, T: int, substeps: int = 16):
    """Ballistic drop with restitution; returns per-frame y and per-frame contact flags."""
    ys, contact = np.zeros(T), np.zeros(T, bool)
    y, v, dt = y0, 0.0, 1.0 / substeps
    for t in range(T):
        ys[t] = y
        if t == T - 1:
            break
        for _ in range(substeps):
            v += g * dt
            y += v * dt
            if y >= floor_y:
                y = floor_y - (y - floor_y) * e
                if v > g * 0.5:            # a real impact, not resting jitter
                    # credit the contact to the nearer frame
                    contact[t if _ < substeps // 2 else t + 1] = True
                v = -v * e
                if abs(v) < g * 0.5:
                    v, y = 0.0, floor_y
    return ys, contact


def track(o: ObjectSpec, floor: float, T: int) -> Track:
    t = np.arange(T, dtype=np.float64)
    u = t / (T - 1)
    x, y = np.full(T, o.x), np.full(T, o.y)
    scale, angle, contact = np.ones(T), np.full(T, o.angle), np.zeros(T, bool)
    r = o.radius
    m = o.motion
    if m in ("left", "right", "up", "down") or "-" in m:
        d = SPEEDS[o.speed]
        parts = m.split("-")
        diag = 0.8 if len(parts) == 2 else 1.0
        if "left" in parts:
            x = o.x - d * diag * u
        if "right" in parts:
            x = o.x + d * diag * u
        if "up" in parts:
            y = o.y - d * diag * u
        if "down" in parts:
            y = o.y + d * diag * u
    elif m in ("bounce", "fall"):
        y, contact = _bounce(o.y, floor - r, o.params["gravity"], o.params["restitution"], T)
        if o.drift:
            x = o.x + (0.24 if o.drift == "right" else -0.24) * u
    elif m == "rotate":
        angle = o.angle + o.spin * u * 2 * math.pi * 0.5
    elif m == "grow":
        scale = 0.6 * (1.5 / 0.6) ** u
    elif m == "shrink":
        scale = 1.5 * (0.6 / 1.5) ** u
    elif m == "orbit":
        p = o.params
        theta = o.angle + o.spin * p["sweep"] * u
        x = p["cx"] + p["radius"] * np.cos(theta)
        y = p["cy"] + p["radius"] * np.sin(theta)
        angle = np.zeros(T)             # o.angle is the orbit's start phase; the shape stays upright
    return Track(x=x, y=y, scale=scale, angle=angle, contact=contact)
