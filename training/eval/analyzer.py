"""Measure a clip from its pixels: the main object's colour, rough shape and motion.

No ground truth is used. The background is estimated twice, per pixel over time (the temporal median; the
evaluated prompts have a still camera) and per row within each frame (the row median); a pixel belongs to
the object when it differs from both. The object's colour is the vote of its pixels' named colours, its
motion the path of its centroid, its shape the fill and symmetry of its mask in the frame where it is largest.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, asdict

import numpy as np
from scipy import ndimage

# Hue prototypes (degrees) of the world's chromatic colours; black and white are decided on value/saturation.
HUES = {"red": 358, "orange": 29, "yellow": 52, "green": 128, "cyan": 184, "blue": 230, "purple": 276, "pink": 330}
DIRECTION_NAMES = ["right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right"]


@dataclass
class Analysis:
    colour: str | None
    colour_share: float           # fraction of object pixels that voted for the winning colour
    shape: str | None
    motion: str                   # one of DIRECTION_NAMES, "bounce", "static" or "none" (no object found)
    displacement: tuple           # (dx, dy) over the clip, fraction of the frame size
    bounces: int
    track: list                   # per-frame centroid (x, y) in pixels, or None
    object_pixels: int

    def to_dict(self):
        return asdict(self)


def name_colour(rgb: np.ndarray) -> np.ndarray:
    """Vectorised: (N, 3) float in [0, 1] -> array of colour names."""
    mx, mn = rgb.max(1), rgb.min(1)
    v, s = mx, np.where(mx > 1e-6, (mx - mn) / np.maximum(mx, 1e-6), 0)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    d = np.maximum(mx - mn, 1e-6)
    h = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4)) * 60
    names = np.array(list(HUES))
    protos = np.array(list(HUES.values()), dtype=float)
    dh = np.abs(h[:, None] - protos[None])
    dh = np.minimum(dh, 360 - dh)
    out = names[dh.argmin(1)].astype(object)
    out[(v < 0.28)] = "black"
    out[(s < 0.22) & (v >= 0.28)] = "white"
    return out


def object_masks(frames: np.ndarray, tau: float = 0.16) -> np.ndarray:
    """(T, H, W) bool: pixels that differ from both the temporal and the row background."""
    f = frames.astype(np.float32) / 255.0
    temporal = np.median(f, axis=0, keepdims=True)
    row = np.median(f, axis=2, keepdims=True)
    dt = np.linalg.norm(f - temporal, axis=-1)
    dr = np.linalg.norm(f - row, axis=-1)
    m = (dt > tau) & (dr > tau)
    out = np.zeros_like(m)
    for t in range(len(m)):                      # keep the largest blob (after a small opening)
        mt = ndimage.binary_opening(m[t], iterations=1)
        lab, n = ndimage.label(mt)
        if n:
            sizes = ndimage.sum(mt, lab, range(1, n + 1))
            out[t] = lab == (1 + int(np.argmax(sizes)))
    return out


def full_mask(frame: np.ndarray, seed: np.ndarray, tau: float = 0.16) -> np.ndarray:
    """The whole object in one frame: row-background differences grown around the seed blob."""
    f = frame.astype(np.float32) / 255.0
    dr = np.linalg.norm(f - np.median(f, axis=1, keepdims=True), axis=-1) > tau
    lab, n = ndimage.label(dr)
    keep = np.unique(lab[seed & (lab > 0)])
    return np.isin(lab, keep[keep > 0])


def rough_shape(mask: np.ndarray) -> str | None:
    ys, xs = np.nonzero(mask)
    if len(xs) < 12:
        return None
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    box = mask[y0:y1, x0:x1]
    fill = box.mean()
    filled = ndimage.binary_fill_holes(box)
    hole = 1 - box.sum() / max(1, filled.sum())
    if hole > 0.15:
        return "ring"
    h = box.shape[0]
    top, bottom = filled[: h // 2].sum(), filled[h - h // 2:].sum()
    ffill = filled.mean()
    if ffill > 0.86:
        return "cube"
    if ffill > 0.68:
        return "ball"
    if top < 0.7 * bottom and ffill > 0.4:
        return "triangle"
    return "star"


def _bounces(y: np.ndarray, H: int) -> int:
    """Count floor contacts: interior lowest points (max y) with a clear fall before and rise after."""
    n, thr = 0, 0.05 * H
    for i in range(1, len(y) - 1):
        if np.isnan(y[i]):
            continue
        before, after = y[: i][~np.isnan(y[:i])], y[i + 1:][~np.isnan(y[i + 1:])]
        if len(before) == 0 or len(after) == 0:
            continue
        if y[i] >= np.nanmax(y[max(0, i - 3): i + 4]) and y[i] - before.min() > thr and y[i] - after.min() > thr:
            # a rise after the contact within a few frames
            if y[i] - np.nanmin(y[i + 1: i + 6]) > thr:
                n += 1
    return n


def analyze(frames: np.ndarray) -> Analysis:
    """frames: (T, H, W, 3) uint8 RGB."""
    T, H, W, _ = frames.shape
    masks = object_masks(frames)
    areas = masks.reshape(T, -1).sum(1)
    if areas.max() < 6:
        return Analysis(None, 0.0, None, "none", (0.0, 0.0), 0, [None] * T, 0)
    track = []
    for t in range(T):
        if areas[t] >= max(6, 0.25 * np.median(areas[areas > 0])):
            ys, xs = np.nonzero(masks[t])
            track.append((float(xs.mean()), float(ys.mean())))
        else:
            track.append(None)
    # colour: vote over the object's pixels, each frame's full mask
    best = int(np.argmax(areas))
    pix = []
    for t in range(T):
        if track[t] is not None:
            pix.append(frames[t][masks[t]])
    pix = np.concatenate(pix).astype(np.float32) / 255.0
    names = name_colour(pix)
    vals, counts = np.unique(names, return_counts=True)
    colour = str(vals[np.argmax(counts)])
    share = float(counts.max() / counts.sum())
    shape = rough_shape(full_mask(frames[best], masks[best]))
    # motion
    pts = np.array([(t, p[0], p[1]) for t, p in enumerate(track) if p is not None])
    y = np.full(T, np.nan)
    for t, p in enumerate(track):
        if p is not None:
            y[t] = p[1]
    bounces = _bounces(y, H)
    if len(pts) >= 3:
        sx = np.polyfit(pts[:, 0], pts[:, 1], 1)[0] * (T - 1) / W
        sy = np.polyfit(pts[:, 0], pts[:, 2], 1)[0] * (T - 1) / H
    else:
        sx = sy = 0.0
    if bounces >= 1:
        motion = "bounce"
    elif math.hypot(sx, sy) < 0.08:
        motion = "static"
    else:
        ang = math.degrees(math.atan2(sy, sx)) % 360          # y down: 90 = down
        motion = DIRECTION_NAMES[int(((ang + 22.5) % 360) // 45)]
    return Analysis(colour, share, shape, motion, (float(sx), float(sy)), bounces, track, int(areas.sum()))
