#!/usr/bin/env python3
"""Scores the Swift text-to-video plugin's videos on the held-out prompts with the world analyzer, beside the
Python (diffusers) reference's scores on the same prompts (docs/models/eval-default.json, same model, steps,
guidance, shift and per-prompt seeds; the noise generators differ, so clips differ one by one, and the
comparison is of the accuracies).

It starts a reeld from BUILD (reeld + libReelTextToVideo.so) on a temporary socket with models/ as its model
directory and runs `reel generate` for each prompt.

    python3 tools/eval/t2v_heldout.py --build .build/release --limit 40 --out docs/t2v-eval.json

With --seeds K each prompt is generated K times (its seed, seed+1, ...): 100 prompts leave a binomial
standard error of about 4 points on an accuracy near 85%, so K > 1 tells a real gap from the draw of the noise.
"""
from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from training.eval.analyze import score          # noqa: E402
from training.eval.analyzer import analyze       # noqa: E402
from training.eval.video_io import read_video    # noqa: E402
from training.world import eval_prompts          # noqa: E402


def accuracies(rows):
    def acc(k):
        v = [r[f"ok_{k}"] for r in rows if r[f"ok_{k}"] is not None]
        return sum(v) / len(v) if v else float("nan")
    return {"n": len(rows), "colour": acc("colour"), "motion": acc("motion"), "shape": acc("shape")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=".build/release")
    ap.add_argument("--model", default="reel-t2v-default")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "t2v-eval.json")
    ap.add_argument("--seeds", type=int, default=1, help="generations per prompt (seeds seed, seed+1, ...)")
    a = ap.parse_args()
    build = (ROOT / a.build).resolve()
    ref = json.loads((ROOT / "docs/models/eval-default.json").read_text())
    ref_rows = {r["id"]: r for r in ref["generated"]["rows"]}
    prompts = eval_prompts()[: a.limit]
    work = Path(tempfile.mkdtemp(prefix="reel-eval-"))
    sock = work / "s.sock"
    daemon = subprocess.Popen([str(build / "reeld"), "--socket", str(sock), "--state-dir", str(work / "state"),
                               "--plugin-dir", str(build), "--model-dir", str(ROOT / "models")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if sock.exists():
                break
            time.sleep(0.1)
        rows, started = [], time.time()
        # every prompt at its own seed first, so rows[:len(prompts)] are the reference's prompts and seeds
        for offset, p in itertools.product(range(a.seeds), prompts):
            seed = p["seed"] + offset
            out = work / f"{p['id']}-{seed}.mp4"
            subprocess.run([str(build / "reel"), "generate", "--socket", str(sock), p["prompt"], "-o", str(out),
                            "--seed", str(seed), "--model", a.model, "--steps", str(ref["steps"]),
                            "--guidance", str(ref["guidance"]), "--flow-shift", str(ref["shift"])],
                           check=True, stdout=subprocess.DEVNULL)
            wanted = {"colour": p["colour"], "shape": p["shape"], "motion": p["motion"]}
            an = analyze(read_video(out))
            s = score(an, wanted)
            rows.append({"id": p["id"], "seed": seed, "prompt": p["prompt"], **{f"ok_{k}": v for k, v in s.items()},
                         "measured": {"colour": an.colour, "shape": an.shape, "motion": an.motion}})
            print(f"{p['id']:3d} {seed:10d} {p['prompt'][:50]:50s} colour {s['colour']} motion {s['motion']}", flush=True)
            out.unlink()
        seconds = time.time() - started
    finally:
        daemon.terminate()
        daemon.wait()
    swift = accuracies(rows)
    python = accuracies([ref_rows[p["id"]] for p in prompts])
    result = {"model": a.model, "steps": ref["steps"], "guidance": ref["guidance"], "shift": ref["shift"],
              "prompts": len(prompts), "seeds": a.seeds, "swift": swift, "python_reference": python,
              "seconds_per_clip": seconds / len(rows), "rows": rows}
    if a.seeds > 1:     # the same prompts and seeds as the Python reference, for the like-for-like row
        result["swift_first_seed"] = accuracies(rows[: len(prompts)])
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("prompts", "seeds", "swift", "swift_first_seed", "python_reference",
                                             "seconds_per_clip") if k in result}, indent=2))


if __name__ == "__main__":
    main()
