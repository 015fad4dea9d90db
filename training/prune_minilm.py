"""Write a small copy of MiniLM for carrying to a training machine: only the vocabulary rows that the data
set's captions and the evaluation prompts use, weights in float16 (about 21 MB instead of 91 MB).

    python -m training.prune_minilm --minilm STORE/all-minilm-l6-v2 --out DIR --clips 20000 --data-seed 1
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import captions_for, clip_seeds
from .text_encoder import prune
from .world import eval_prompts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minilm", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=20000)
    ap.add_argument("--data-seed", type=int, default=1)
    ap.add_argument("--captions-per-clip", type=int, default=3)
    a = ap.parse_args(argv)
    texts = [c for cs in captions_for(clip_seeds(a.data_seed, a.clips), a.captions_per_clip) for c in cs]
    texts += [p["prompt"] for s in (1000, 5000) for p in eval_prompts(seed=s)] + [""]
    print(prune(a.minilm, a.out, texts), "from", len(texts), "texts")


if __name__ == "__main__":
    main()
