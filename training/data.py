"""Data sets from the world: clips rendered in parallel, captions drawn per clip, stored as arrays."""
from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .world import HeldOut, WorldConfig, caption, render, sample_spec
from .world.spec import ClipSpec


def _spec(seed: int, held: HeldOut, crowd: int = 0) -> ClipSpec:
    return sample_spec(np.random.default_rng(seed), seed, excluded=held, crowd=crowd)


def _render_chunk(args):
    seeds, cfg, crowd = args
    held = HeldOut()
    out = np.empty((len(seeds), cfg.frames, cfg.height, cfg.width, 3), np.uint8)
    for i, s in enumerate(seeds):
        out[i] = render(_spec(s, held, crowd), cfg, truth=False).frames
    return out


def clip_seeds(data_seed: int, n: int) -> list[int]:
    return [int(s) for s in np.random.default_rng(data_seed).integers(0, 2**31 - 1, size=n)]


def render_with_truth(data_seed: int, n: int, cfg: WorldConfig = WorldConfig()):
    """The clips `build(data_seed, n)` renders, one at a time, each with its spec and ground truth (object boxes,
    contacts): yields (ClipSpec, RenderResult)."""
    held = HeldOut()
    for s in clip_seeds(data_seed, n):
        spec = _spec(s, held)
        yield spec, render(spec, cfg, truth=True)


def captions_for(seeds: list[int], per_clip: int) -> list[list[str]]:
    held = HeldOut()
    out = []
    for s in seeds:
        spec = _spec(s, held)
        rng = np.random.default_rng(s + 1)
        out.append([caption(spec, rng) for _ in range(per_clip)])
    return out


def build(data_seed: int, n: int, cfg: WorldConfig = WorldConfig(), workers: int = 1, chunk: int = 64,
          crowd: int = 0) -> np.ndarray:
    """Render n clips (N, T, H, W, 3) uint8, deterministic in data_seed; `crowd` more objects in each (sample_spec)."""
    seeds = clip_seeds(data_seed, n)
    jobs = [(seeds[i:i + chunk], cfg, crowd) for i in range(0, n, chunk)]
    if workers <= 1:
        parts = [_render_chunk(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            parts = list(ex.map(_render_chunk, jobs))
    return np.concatenate(parts)


def load_or_build(cache: Path, data_seed: int, n: int, cfg: WorldConfig, workers: int, per_clip: int = 3):
    """Frames and captions, cached on disk so resumed runs skip rendering."""
    cache.mkdir(parents=True, exist_ok=True)
    fx, cx = cache / f"frames_{data_seed}_{n}.npy", cache / f"captions_{data_seed}_{n}.json"
    if fx.exists() and cx.exists():
        return np.load(fx, mmap_mode="r"), json.loads(cx.read_text())
    frames = build(data_seed, n, cfg, workers)
    caps = captions_for(clip_seeds(data_seed, n), per_clip)
    np.save(fx, frames)
    cx.write_text(json.dumps(caps))
    return frames, caps
