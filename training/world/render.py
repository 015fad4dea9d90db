"""The numpy renderer: backgrounds, shapes, shading and shadows, supersampled and box-filtered down."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .motion import track, Track
from .palette import BACKGROUNDS, COLOURS
from .spec import ClipSpec, WorldConfig

SKY_TOP, SKY_LOW = np.array([0.22, 0.45, 0.88]), np.array([0.68, 0.84, 0.98])


@dataclass
class RenderResult:
    frames: np.ndarray        # (T, H, W, 3) uint8
    truth: dict               # per-frame ground truth and events, JSON-serialisable


def _mix(a, b, w):
    w = np.asarray(w)[..., None]
    return a * (1 - w) + b * w


def _smooth(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def _sky(X, Y, horizon, p, rng):
    g = np.clip(Y / max(horizon, 1e-3), 0, 1)
    col = _mix(SKY_TOP, SKY_LOW, g)
    clouds = np.zeros(X.shape)
    for _ in range(4):
        cx, cy = rng.uniform(-0.3, 1.3), rng.uniform(0.05, horizon * 0.7)
        sx, sy = rng.uniform(0.1, 0.2), rng.uniform(0.03, 0.06)
        clouds += np.exp(-(((X - cx) / sx) ** 2 + ((Y - cy) / sy) ** 2))
    return _mix(col, np.array([0.97, 0.98, 1.0]), np.clip(clouds, 0, 0.75))


def _ground(X, Y, horizon, base, dark, freq):
    stripes = 0.5 + 0.5 * np.sin(freq * X + 5 * np.sin(11 * Y)) * np.sin(freq * 0.7 * Y + 3 * X)
    depth = _smooth(horizon, 1.0, Y)
    return _mix(base, dark, 0.35 * stripes) * (0.85 + 0.2 * depth)[..., None]


def background(kind: str, X, Y, tt, p: dict, rng: np.random.Generator):
    """Colour of the world at world coordinates X, Y (any shape) at times tt (same shape), in [0, 1]."""
    hz, hue = p.get("horizon", 0.5), p.get("hue", 0.0)
    tint = np.array([1 + 0.04 * hue, 1.0, 1 - 0.04 * hue])
    if kind == "sky":
        col = _sky(X, Y, 1.0, p, rng)
    elif kind in ("grass", "sand", "sea"):
        sky = _sky(X, Y, hz, p, rng)
        if kind == "grass":
            g = _ground(X, Y, hz, np.array([0.30, 0.62, 0.22]), np.array([0.16, 0.42, 0.12]), 60)
        elif kind == "sand":
            dunes = 0.5 + 0.5 * np.sin(9 * X + 3 * np.sin(4 * Y + p.get("phase", 0)))
            g = _mix(np.array([0.95, 0.84, 0.60]), np.array([0.82, 0.68, 0.45]), 0.5 * dunes * _smooth(hz, 1, Y))
        else:
            waves = 0.5 + 0.5 * np.sin(70 * np.clip(Y - hz, 0, None) ** 0.7 * 6 + 4 * np.sin(8 * X) - 0.6 * tt)
            g = _mix(np.array([0.10, 0.36, 0.62]), np.array([0.20, 0.55, 0.78]), 0.3 + 0.5 * waves * _smooth(hz, 1, Y))
        col = _mix(sky, g, _smooth(hz - 0.004, hz + 0.004, Y))
    elif kind == "night":
        col = _mix(np.array([0.02, 0.03, 0.10]), np.array([0.10, 0.12, 0.28]), np.clip(Y, 0, 1))
        stars = np.zeros(X.shape)
        for _ in range(18):
            sx, sy = rng.uniform(-0.3, 1.3), rng.uniform(-0.1, 0.75)
            stars += np.exp(-((X - sx) ** 2 + (Y - sy) ** 2) / 0.00008)
        col = _mix(col, np.array([1.0, 0.97, 0.85]), np.clip(stars, 0, 1))
        hill = _smooth(0.9 - 0.004, 0.9 + 0.004, Y + 0.02 * np.sin(6 * X + p.get("phase", 0)))
        col = _mix(col, np.array([0.06, 0.10, 0.08]), hill)
    elif kind in ("studio", "warm"):
        top, low = (np.array([0.50, 0.52, 0.55]), np.array([0.80, 0.80, 0.80])) if kind == "studio" else \
                   (np.array([0.93, 0.72, 0.58]), np.array([0.99, 0.88, 0.76]))
        col = _mix(top, low, _smooth(-0.2, 1.1, Y))
        vignette = 1 - 0.18 * ((X - 0.5) ** 2 + (Y - 0.55) ** 2)
        col = col * vignette[..., None]
    elif kind == "checker":
        s = 0.125 * p.get("scale", 1.0)
        chk = ((np.floor(X / s) + np.floor(Y / s)) % 2)
        col = _mix(np.array([0.80, 0.82, 0.86]), np.array([0.55, 0.58, 0.66]), chk)
    elif kind == "stripes":
        s = 0.1 * p.get("scale", 1.0)
        st = _smooth(0.4, 0.6, 0.5 + 0.5 * np.sin(2 * math.pi * X / s + p.get("phase", 0)))
        a = np.array([0.62, 0.80, 0.78]) if hue > 0 else np.array([0.85, 0.75, 0.88])
        col = _mix(a, a * 0.82, st)
    else:
        raise ValueError(f"unknown background {kind!r}")
    return np.clip(col * tint, 0, 1)


def inside(shape: str, lx, ly):
    """Boolean coverage of a shape in local units (radius 1, y down)."""
    if shape == "ball":
        return lx * lx + ly * ly <= 1.0
    if shape == "cube":
        return np.maximum(np.abs(lx), np.abs(ly)) <= 0.86
    if shape == "ring":
        rr = lx * lx + ly * ly
        return (rr <= 1.0) & (rr >= 0.3)
    if shape == "triangle":
        ok = np.ones(lx.shape, bool)
        for k in range(3):
            a = math.pi / 2 + 2 * math.pi * k / 3           # outward normals: down, up-left, up-right
            ok &= (lx * math.cos(a) + ly * math.sin(a)) <= 0.55
        return ok & (ly >= -1.15)
    if shape == "star":
        R, Ri, n = 1.15, 0.5, 5
        th = np.arctan2(lx, -ly)                          # 0 = up
        sector = 2 * math.pi / n
        a = np.abs((th % sector) - sector / 2)            # distance from the inner vertex direction
        a = sector / 2 - a                                # 0 at the outer vertex
        rho = np.hypot(lx, ly)
        px, py = rho * np.cos(a), rho * np.sin(a)
        vx, vy = R, 0.0
        wx, wy = Ri * math.cos(sector / 2), Ri * math.sin(sector / 2)
        return (wx - vx) * (py - vy) - (wy - vy) * (px - vx) >= 0
    raise ValueError(f"unknown shape {shape!r}")


def shade(shape: str, lx, ly):
    """Multiplicative lighting (light from the upper left) and an additive highlight."""
    if shape == "ball":
        d = np.hypot(lx + 0.35, ly + 0.4)
        lum = 1.12 - 0.42 * np.clip(d / 1.4, 0, 1) ** 1.5
        spec = 0.45 * np.exp(-(d / 0.22) ** 2)
        return lum, spec
    if shape == "cube":
        edge = np.maximum(np.abs(lx), np.abs(ly))
        lum = 1.05 - 0.12 * (lx + ly) / 1.7 - 0.18 * _smooth(0.7, 0.86, edge)
        return lum, np.zeros_like(lx)
    lum = 1.06 - 0.14 * (ly + 0.3 * lx)
    return lum, np.zeros_like(lx)


def _camera(spec: ClipSpec, T: int):
    u = np.linspace(0, 1, T)
    zoom, panx = np.ones(T), np.zeros(T)
    c = spec.camera
    if c.kind == "pan-left":
        panx = -c.amount * u
    elif c.kind == "pan-right":
        panx = c.amount * u
    elif c.kind == "zoom-in":
        zoom = 1 + c.amount * u
    elif c.kind == "zoom-out":
        zoom = 1 + c.amount * (1 - u)
    return zoom, panx


def render(spec: ClipSpec, cfg: WorldConfig = WorldConfig(), truth: bool = True) -> RenderResult:
    T, H, W, S = cfg.frames, cfg.height, cfg.width, cfg.supersample
    Hs, Ws = H * S, W * S
    rng_bg = np.random.default_rng(spec.seed ^ 0x5EED)
    zoom, panx = _camera(spec, T)
    qy, qx = np.meshgrid(((np.arange(Hs) + 0.5) / Hs).astype(np.float32),
                         ((np.arange(Ws) + 0.5) / Ws).astype(np.float32), indexing="ij")
    zoom, panx = zoom.astype(np.float32), panx.astype(np.float32)
    aspect = W / H
    X = 0.5 * aspect + (qx[None] * aspect - 0.5 * aspect) / zoom[:, None, None] + panx[:, None, None]
    Y = 0.5 + (qy[None] - 0.5) / zoom[:, None, None]
    tt = np.broadcast_to(np.arange(T, dtype=np.float32)[:, None, None], X.shape)
    if spec.camera.kind == "static" and spec.background != "sea":   # a still backdrop: render it once
        img = np.repeat(background(spec.background, X[:1], Y[:1], tt[:1], spec.bg_params, rng_bg), T, axis=0)
    else:
        img = background(spec.background, X, Y, tt, spec.bg_params, rng_bg)
    floor = BACKGROUNDS[spec.background]["floor"]
    tracks: list[Track] = [track(o, floor, T) for o in spec.objects]

    # soft contact shadows on the floor (not in open sky or night)
    if spec.background not in ("sky", "night"):
        for o, tr in zip(spec.objects, tracks):
            r = o.radius * tr.scale
            height = np.clip((floor - (tr.y + r)) / 0.45, 0, 1)
            sx, sy = (r * 1.1)[:, None, None], (r * 0.22)[:, None, None]
            e = ((X - tr.x[:, None, None]) / sx) ** 2 + ((Y - floor) / sy) ** 2
            a = (0.4 * (1 - height))[:, None, None] * np.exp(-e * 1.5)
            img = img * (1 - a[..., None])

    boxes, masks = [], []
    for o, tr in zip(spec.objects, tracks):
        r = (o.radius * tr.scale)[:, None, None].astype(np.float32)
        dx, dy = X - tr.x[:, None, None].astype(np.float32), Y - tr.y[:, None, None].astype(np.float32)
        ca = np.cos(tr.angle)[:, None, None].astype(np.float32)
        sa = np.sin(tr.angle)[:, None, None].astype(np.float32)
        lx, ly = (ca * dx + sa * dy) / r, (-sa * dx + ca * dy) / r
        m = inside(o.shape, lx, ly)
        lum, spec_ = shade(o.shape, lx, ly)
        base = np.array(COLOURS[o.colour][0], np.float32)
        col = np.clip(base * lum[..., None] + spec_[..., None], 0, 1)
        img = np.where(m[..., None], col, img)
        masks.append(m)
    # box filter down to the output size
    img = img.reshape(T, H, S, W, S, 3).mean(axis=(2, 4))
    frames = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    if not truth:                       # training data needs pixels only
        return RenderResult(frames=frames, truth={})
    truth = {"fps": cfg.fps, "width": W, "height": H, "frames": T, "objects": [], "events": []}
    for k, (o, tr, m) in enumerate(zip(spec.objects, tracks, masks)):
        cov = m.reshape(T, H, S, W, S).mean(axis=(2, 4))
        per = []
        for t in range(T):
            ys, xs = np.nonzero(cov[t] > 0)
            box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if len(xs) else None
            per.append({"box": box, "area": float(cov[t].sum()), "contact": bool(tr.contact[t]),
                        "scale": float(tr.scale[t]), "angle": float(tr.angle[t])})
            if tr.contact[t]:
                truth["events"].append({"type": "contact", "frame": t, "time": t / cfg.fps, "object": k,
                                        "surface": "floor", "shape": o.shape})
        truth["objects"].append({"shape": o.shape, "colour": o.colour, "size": o.size, "motion": o.motion,
                                 "frames": per})
    return RenderResult(frames=frames, truth=truth)
