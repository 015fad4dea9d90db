"""Shared training machinery: seeds, resumable checkpoints, loss logs and their plots, the LR schedule."""
from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def keep_freed_memory():
    """Have glibc serve every block from its heaps and keep what is freed there for reuse.

    A training step frees and allocates the same large activations every step. By default glibc serves blocks
    over its mmap threshold (adaptive, at most 32 MiB) with fresh mappings and trims its heaps after frees, so
    every step paid the kernel to map, fault in and zero those pages again: on the autoencoder's whole-clip
    steps (`whole_clip`) a quarter of the CPU time went to the kernel at batch 4, and at batch 8, whose
    activations pass 32 MiB, half of it, the steps taking three times as long (`python -m training.step_speed`).
    As MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2G MALLOC_TOP_PAD_=1G in the environment would; the memory stays
    with the process until it exits. Does nothing outside glibc."""
    import ctypes
    import ctypes.util
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
    mallopt(M_MMAP_MAX, 0)
    mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
    mallopt(M_TOP_PAD, 1 << 30)


def bf16_speedup(n: int = 1024, repeats: int = 4) -> float:
    """How many times faster this CPU multiplies n x n matrices in bf16 than in fp32, on torch's current threads.

    bf16 autocast is what makes the CPU steps cheap where the CPU has fast bf16 (AVX512-BF16 on the AMD EPYC
    of sessions 5-14: ~3x a fp32 step), but not everywhere: on session 15's Intel Xeon (oneDNN's AVX 10.1
    path, no AMX) bf16 matmuls ran at half fp32's speed and a bf16 step of the autoencoder took 1.6x a fp32
    one. Takes about a tenth of a second."""
    def best(dtype) -> float:
        a = torch.randn(n, n).to(dtype)
        a @ a                                   # warm-up: the library picks its kernel
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            a @ a
            times.append(time.perf_counter() - t)
        return min(times)
    return best(torch.float32) / best(torch.bfloat16)


def bf16_notice(speedup: float) -> str | None:
    """The line a CPU run in bf16 prints when bf16 is the slower choice here (None when it pays)."""
    if speedup >= 1.0:
        return None
    return (f"note: bf16 matmuls run at {speedup:.2f}x fp32's speed on this CPU, so bf16 autocast slows these "
            "steps down here; fp32 (finetune_vae --fp32, run_all without --cpu-bf16) is faster on this machine")


def save_checkpoint(path: Path, state: dict):
    """Atomic: a crash mid-write never leaves a half checkpoint in place of a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def lr_at(step: int, total: int, base: float, warmup: int = 200, floor: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to floor*base at `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


class LossLog:
    """Appends one CSV row per logged step; survives resumption (rows past the resumed step are dropped)."""

    def __init__(self, path: Path, fields: list[str], resume_step: int = 0):
        self.path, self.fields = path, ["step", "time"] + fields
        rows = []
        if path.exists() and resume_step > 0:
            with open(path) as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, self.fields)
            w.writeheader()
            w.writerows(rows)

    def add(self, step: int, **vals):
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow({"step": step, "time": round(time.time(), 1),
                                                     **{k: f"{v:.6g}" for k, v in vals.items()}})


def plot_losses(csv_path: Path, png_path: Path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    keys = [k for k in rows[0] if k not in ("step", "time")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2))
    axes = np.atleast_1d(axes)
    steps = np.array([int(r["step"]) for r in rows])
    for ax, k in zip(axes, keys):
        v = np.array([float(r[k]) for r in rows])
        ax.plot(steps, v, lw=0.6, alpha=0.4)
        if len(v) > 20:   # a running mean makes the trend readable
            w = max(5, len(v) // 50)
            ax.plot(steps[w - 1:], np.convolve(v, np.ones(w) / w, mode="valid"), lw=1.4)
        ax.set_title(k)
        ax.set_xlabel("step")
        if np.all(v > 0) and k != "psnr":
            ax.set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")
