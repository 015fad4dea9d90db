"""The shipped model's own generated latents, and what its decoder draws from them.

A continued autoencoder can only replace the shipped one under the shipped transformer if its decoder draws the
transformer's latents as the shipped decoder did: those latents are not quite the encoder's (the transformer
approximates them), and a decoder that reads the encoder's latents as well as before can still shift the hues of
generated clips (docs/models.md, sessions 9, 15 and 17). This samples the shipped model on captions of fresh
training-distribution clips (never a held-out combination) and keeps each clip's latents with the shipped
decoder's drawing of them: the pool `finetune_vae --keep-drawing` trains a continued decoder to keep.

    python -m training.drawn --model models/reel-t2v-default --minilm M --clips 256 --seed 5 --out R/drawn.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .common import keep_freed_memory
from .data import captions_for, clip_seeds


@torch.no_grad()
def drawn_pool(pipe, encoder, prompts: list[str], seeds: list[int], *, steps: int, guidance: float,
               batch: int = 8) -> dict:
    """{"latents": (N, z_dim, T', H', W') float32 the transformer sampled, "drawn": (N, 3, T, H, W) float16 in
    [-1, 1], the pipeline's decoder's drawing of them, "prompts", "seeds"}."""
    from .sample import generate
    from .whole_clip import decode
    z = generate(pipe, encoder, prompts, seeds, steps=steps, guidance=guidance, latents=True)
    drawn = torch.cat([decode(pipe.vae, z[i:i + batch]).float().clamp(-1, 1).half() for i in range(0, len(z), batch)])
    return {"latents": z, "drawn": drawn, "prompts": prompts, "seeds": seeds}


def main(argv=None):
    from .sample import defaults, load_pipeline
    from .text_encoder import MiniLM
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="the shipped model directory")
    ap.add_argument("--minilm", type=Path, required=True, help="the fetched MiniLM directory")
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--seed", type=int, default=5, help="data seed of the clips whose captions are sampled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    seeds = clip_seeds(a.seed, a.clips)
    prompts = [c[0] for c in captions_for(seeds, 1)]
    d = defaults(a.model)
    pool = drawn_pool(load_pipeline(a.model, "cpu"), MiniLM(a.minilm), prompts, seeds,
                      steps=d["steps"], guidance=d["guidance_scale"])
    pool["model"] = str(a.model)
    torch.save(pool, a.out)
    print(f"{a.clips} clips sampled ({d['steps']} steps, guidance {d['guidance_scale']}) and drawn: {a.out}")


if __name__ == "__main__":
    main()
