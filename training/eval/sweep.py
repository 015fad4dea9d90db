"""Sampler settings for an exported model, chosen on the validation draw of held-out prompts (never the test
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

from ..sample import defaults, generate, load_pipeline
from ..text_encoder import MiniLM
from ..world import eval_prompts
from .benchmark import score_clips


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

    from diffusers import FlowMatchEulerDiscreteScheduler
    d = defaults(a.model)
    steps = a.steps or d["steps"]
    pipe = load_pipeline(a.model, "cpu")
    enc = MiniLM(a.minilm)
    val = eval_prompts(seed=a.seed)[: a.limit]
    rows = []
    for shift in a.shifts:
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, shift=shift)
        for g in a.guidance:
            t = time.time()
            clips = generate(pipe, enc, [p["prompt"] for p in val], [p["seed"] for p in val], steps=steps,
                             guidance=g, width=d["width"], height=d["height"], frames=d["num_frames"])
            s = score_clips(val, clips)["summary"]["all"]
            rows.append({"shift": shift, "guidance": g, "steps": steps, **s, "seconds": round(time.time() - t, 1)})
            print(f"shift {shift:g} guidance {g:g}: colour {s['colour']:.1%} motion {s['motion']:.1%} "
                  f"shape {s['shape']:.1%} ({time.time() - t:.0f} s)", flush=True)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.write_text(json.dumps({"model": str(a.model), "validation_seed": a.seed, "prompts": len(val),
                                         "rows": rows}, indent=2) + "\n")
    best = max(rows, key=lambda r: r["colour"] + r["motion"])
    print(f"best: shift {best['shift']:g} guidance {best['guidance']:g}")


if __name__ == "__main__":
    main()
