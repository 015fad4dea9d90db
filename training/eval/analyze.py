"""CLI: analyze one generated clip against its prompt.

    python -m training.eval.analyze clip.mp4 --prompt "a red ball bounces on green grass"
    python -m training.eval.analyze frames_dir/ --prompt "..." --json

Prints what the pixels show (colour, rough shape, motion) beside what the prompt asks, and the match.
"""
from __future__ import annotations

import argparse
import json
import sys

from .analyzer import analyze
from .prompts import expected_label, parse
from .video_io import read_video


def score(analysis, wanted: dict) -> dict:
    exp_motion = expected_label(wanted["motion"])
    return {"colour": None if wanted["colour"] is None else analysis.colour == wanted["colour"],
            "shape": None if wanted["shape"] is None else analysis.shape == wanted["shape"],
            "motion": None if exp_motion is None else analysis.motion == exp_motion}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", help="an MP4 (any FFmpeg input) or a directory of PNG frames")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    try:
        frames = read_video(a.video)
    except Exception as e:                               # a clear message, not a traceback
        print(f"error: cannot read {a.video}: {e}", file=sys.stderr)
        return 2
    res = analyze(frames)
    wanted = parse(a.prompt)
    s = score(res, wanted)
    if a.json:
        d = res.to_dict()
        d.pop("track")
        print(json.dumps({"prompt": a.prompt, "wanted": wanted, "measured": d, "match": s}))
    else:
        print(f"frames   {frames.shape[0]} x {frames.shape[2]}x{frames.shape[1]}")
        for k in ("colour", "shape", "motion"):
            got = getattr(res, k)
            mark = {True: "ok", False: "MISMATCH", None: "-"}[s[k]]
            print(f"{k:8s} measured {got!s:12s} prompt {wanted[k]!s:12s} {mark}")
        print(f"displacement {res.displacement[0]:+.2f}, {res.displacement[1]:+.2f} (frame fractions), bounces {res.bounces}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
