"""Read a clip as (T, H, W, 3) uint8: an MP4 (or anything FFmpeg decodes) or a directory of PNG frames."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np


def read_video(path: str | Path) -> np.ndarray:
    path = Path(path)
    if path.is_dir():
        from PIL import Image
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
        if not files:
            raise FileNotFoundError(f"no PNG frames in {path}")
        return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files])
    if not path.exists():
        raise FileNotFoundError(path)
    probe = json.loads(subprocess.check_output(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", str(path)]))
    w, h = probe["streams"][0]["width"], probe["streams"][0]["height"]
    raw = subprocess.check_output(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def write_pngs(frames: np.ndarray, directory: str | Path):
    from PIL import Image
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(d / f"{i:04d}.png")
