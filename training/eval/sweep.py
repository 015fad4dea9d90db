r"""Sampler settings for an exported model, chosen on the validation draw of held-out prompts (never the test
draw): every (flow shift, guidance) pair generates the validation prompts with diffusers' WanPipeline and is
scored by the analyzer.

    python -m training.eval.sweep --model models/reel-t2v-default --minilm M --shifts 3 5 --guidance 3 5 8 \
        --out runs/sweep.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..common import keep_freed_memory
from ..sample import defaults, generate, load_pipeline
from ..text_encoder import MiniLM
from ..world import eval_prompts
from .benchmark import score_clips


def sweep(pipe, encoder, prompts: list[dict], shifts, guidances, *, steps: int, device: str = "cpu",
          width: int = 64, height: int = 64, frames: int = 17, report=None) -> list[dict]:
    """One row per (shift, guidance): the analyzer's accuracies over `prompts`; `report(row)` after each."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    rows = []
    for shift in shifts:
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, shift=shift)
        for g in guidances:
            t = time.time()
            clips = generate(pipe, encoder, [p["prompt"] for p in prompts], [p["seed"] for p in prompts],
                             steps=steps, guidance=g, width=width, height=height, frames=frames, device=device)
            s = score_clips(prompts, clips)["summary"]["all"]
            rows.append({"shift": shift, "guidance": g, "steps": steps, **s, "seconds": round(time.time() - t, 1)})
            if report:
                report(rows[-1])
    return rows


def best(rows: list[dict]) -> dict:
    """The row with the highest colour + motion accuracy (the first of equals)."""
    return max(rows, key=lambda r: r["colour"] + r["motion"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--minilm", type=Path, required=True)
    ap.add_argument("--shifts", type=float, nargs="+", default=[3.0])
    ap.add_argument("--guidance", type=float, nargs="+", default=[3.0, 5.0, 8.0])
    ap.add_argument("--steps", type=int, help="default: the model's reel.json")
    ap.add_argument("--limit", type=int, help="only the first N validation prompts")
    ap.add_argument("--seed", type=int, default=5000, help="the validation draw of eval_prompts")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    keep_freed_memory()

    d = defaults(a.model)
    val = eval_prompts(seed=a.seed)[: a.limit]
    rows = []

    def report(row):                       # print and keep the JSON current, so a stopped sweep keeps its rows
        rows.append(row)
        print(f"shift {row['shift']:g} guidance {row['guidance']:g}: colour {row['colour']:.1%} "
              f"motion {row['motion']:.1%} shape {row['shape']:.1%} ({row['seconds']:.0f} s)", flush=True)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({"model": str(a.model), "validation_seed": a.seed, "prompts": len(val),
                                     "rows": rows}, indent=2) + "\n")

    sweep(load_pipeline(a.model, "cpu"), MiniLM(a.minilm), val, a.shifts, a.guidance, steps=a.steps or d["steps"],
          width=d["width"], height=d["height"], frames=d["num_frames"], report=report)
    b = best(rows)
    print(f"best: shift {b['shift']:g} guidance {b['guidance']:g}")


if __name__ == "__main__":
    main()
