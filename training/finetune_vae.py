r"""Continues an exported autoencoder (the decoder alone, the encoder alone with --encoder, or the whole of it with
--whole) on freshly rendered world clips, printing the benchmark's round-trip PSNR on fresh clips (seed 424242)
every --eval-every steps, of the weights and, with --ema, of their moving average; --save writes the result (the
average, when kept) at every evaluation and at the end, so a run stopped early keeps what it reached.

    python -m training.finetune_vae --model models/reel-t2v-default --lr 3e-5 --batch 4 --accum 2 --steps 1500 \
        --warmup 20 --ema 0.998 --l1-weight 0 --eval-every 100 --seed 8 --save R/vae
    python -m training.export MODEL --vae R/vae --record '{...}'     # put it into a model directory
    python -m training.finetune_vae --model models/reel-t2v-default --memorise --lr 2e-4 --steps 300 \
        --eval-every 100 [--widen 2]     # capacity probe: fit the evaluation clips themselves
    python -m training.finetune_vae ... --object-crop 40   # decoder steps on 40x40 crops around the objects
    python -m training.finetune_vae ... --encoder [--anchor W]   # the encoder alone: generated clips unchanged
    python -m training.finetune_vae ... --whole --latent-channels 32  # more latent channels (a new latent space)
    python -m training.finetune_vae --vae R/aligned --whole ... --keep-reading models/reel-t2v-default/vae
        # the decoder also trained on the shipped encoder's latents, which the shipped transformer makes
    python -m training.drawn --model models/reel-t2v-default --minilm M --out R/drawn.pt
    python -m training.finetune_vae ... --keep-drawing R/drawn.pt   # and to draw the shipped model's clips as before
    python -m training.finetune_vae ... --checkpoint R/state.pt  # resumable: rerun the same command to continue
    python -m training.finetune_vae ... --channels-last  # faster steps where oneDNN prefers that layout (step_speed)
    python -m training.finetune_vae ... --frames 9  # 9-frame windows of the clips (probe: gains less than whole ones)
    python -m training.finetune_vae ... --crowd 3   # three more objects in every clip (probe: gains less too)
    python -m training.finetune_vae ... --clip-psnr # the clips' mean PSNR as the loss (probe: gains no more)

The CPU's way to continue the decoder without computing latents of a data set; short
runs of it choose a learning rate and batch. `run_all.py` trains the whole pipeline.
"""
from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import bf16_notice, bf16_speedup, keep_freed_memory, load_checkpoint, save_checkpoint
from .data import build, render_with_truth
from .eval.benchmark import vae_psnr
from .losses import psnr
from .trainers import autoencoder_loss, frames_to_tensor, update_average
from . import whole_clip
from .widen import widen_decoder, widen_latents

# The settings a checkpoint must be resumed with: the same model, parameters, data and objective (and, with
# --cosine, the same --steps, which set the schedule). The learning rate and --steps may change.
RESUME_KEYS = ("model", "vae", "whole", "encoder", "anchor", "batch", "accum", "prime", "ema", "l1_weight", "seed",
               "widen", "latent_channels", "object_crop", "memorise", "fp32", "cosine", "frames", "crowd",
               "keep_reading", "keep_weight", "keep_drawing", "drawing_weight", "clip_psnr")


def resume_settings(a) -> dict:
    return {k: getattr(a, k) for k in RESUME_KEYS + (("steps",) if a.cosine else ())}


def windows(x: torch.Tensor, frames: int, seed: int) -> torch.Tensor:
    """Each clip of x (B, 3, T, H, W) cut to `frames` consecutive frames from a random start (seeded): its first
    frame then takes the causal first-frame path, as a clip's first does."""
    starts = np.random.default_rng(seed).integers(0, x.shape[2] - frames + 1, len(x))
    return torch.stack([c[:, s:s + frames] for c, s in zip(x, starts)])


def object_crops(vae, seed: int, n: int, size: int, amp: bool) -> tuple[torch.Tensor, torch.Tensor, list]:
    """n fresh clips (those `build(seed, n)` renders), each cut to a size x size window, aligned to the 8-pixel
    latent cells, around one of its objects (chosen at random, at a random frame); the frozen encoder reads the
    whole clip, so the cropped latents are the ones the decoder meets in use. Returns (clips, their latents, each
    crop's first latent cell (row, column))."""
    rng, cells = np.random.default_rng(seed), size // 8
    rendered = [r for _, r in render_with_truth(seed, n)]
    x = frames_to_tensor(np.stack([r.frames for r in rendered]), "cpu")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        z = vae._encode(x).chunk(2, dim=1)[0].float()
    rows, cols = x.shape[-2] // 8, x.shape[-1] // 8
    xs, zs, at = [], [], []
    for b, r in enumerate(rendered):
        objects = r.truth["objects"]
        frames = objects[rng.integers(len(objects))]["frames"]
        x0, y0, x1, y1 = frames[rng.integers(len(frames))]["box"]
        i = int(np.clip(round((y0 + y1) / 16 - cells / 2), 0, rows - cells))
        j = int(np.clip(round((x0 + x1) / 16 - cells / 2), 0, cols - cells))
        at.append((i, j))
        zs.append(z[b, :, :, i:i + cells, j:j + cells])
        xs.append(x[b, :, :, 8 * i:8 * (i + cells), 8 * j:8 * (j + cells)])
    return torch.stack(xs), torch.stack(zs), at


def kept_reading_loss(vae, kept, x: torch.Tensor, *, amp: bool, l1_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`vae`'s decoder reading clips x as the frozen autoencoder `kept` encodes them (its posterior means): the loss
    (L1 x l1_weight + MSE), whose gradient reaches `vae`'s decoder alone, and those latents."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        z = whole_clip.encode(kept, x).chunk(2, dim=1)[0].float()
    loss, _, _ = autoencoder_loss(vae, x, train_encoder=False, latents=z, amp=amp, l1_weight=l1_weight)
    return loss, z


def kept_drawing_loss(vae, latents: torch.Tensor, drawn: torch.Tensor, *, amp: bool) -> torch.Tensor:
    """The MSE between `vae`'s decoding of `latents` and `drawn` (another decoder's drawing of them, in [-1, 1])."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        return F.mse_loss(whole_clip.decode(vae, latents).float(), drawn.float())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="an exported directory (its vae/ is read)")
    ap.add_argument("--vae", help="start from this saved autoencoder instead (e.g. an earlier run's --save)")
    ap.add_argument("--whole", action="store_true", help="train the encoder too (changes the latents)")
    ap.add_argument("--encoder", action="store_true",
                    help="train the encoder alone, the decoder frozen, on its posterior means: the clips a "
                         "model generates stay exactly as they were, the round trip improves")
    ap.add_argument("--anchor", type=float, default=0.0,
                    help="with --encoder: weight of the mean squared move of the latents from the starting "
                         "encoder's, in units of latents_std (keeps them in the transformer's space)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=4, help="clips per micro-batch")
    ap.add_argument("--accum", type=int, default=1, help="micro-batches per optimiser step")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--prime", type=int, default=0,
                    help="optimiser steps at lr 0 first: Adam's moment estimates filled before any weight moves")
    ap.add_argument("--cosine", action="store_true", help="decay to 0.1 lr by the last step")
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the whole-clip passes (about a minute first; then ~1.2x faster steps)")
    ap.add_argument("--channels-last", action="store_true",
                    help="lay the weights and clips out channels-last: fp32 steps ~4%% faster compiled, ~10%% eager on an "
                         "Intel CPU (`python -m training.step_speed --channels-last` measures it here)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="also keep an exponential moving average of the trained weights (this decay) and report it")
    ap.add_argument("--l1-weight", type=float, default=1.0, help="0: train on the MSE alone")
    ap.add_argument("--clip-psnr", action="store_true",
                    help="weigh each clip's MSE by the batch's mean over its own: the gradient of the clips' mean "
                         "PSNR (what the benchmark averages) rather than of their pooled MSE (a probe: it gained "
                         "nothing over plain MSE in 200 steps from the same state; docs/models.md, session 19)")
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--eval-clips", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=99, help="the training clips' seeds start here")
    ap.add_argument("--save", help="save the continued autoencoder here (diffusers layout)")
    ap.add_argument("--widen", type=int, default=0,
                    help="first widen the decoder this many times (decoder_base_dim), computing the same function")
    ap.add_argument("--latent-channels", type=int, default=0,
                    help="with --whole: first widen the latents to this many channels (the old ones keep their "
                         "round trip; the new ones start as random features the decoder ignores, and are learnt)")
    ap.add_argument("--checkpoint", type=Path,
                    help="keep the whole training state here (weights, average, optimiser, step) at every "
                         "evaluation, and continue from it when it exists: rerun the same command to resume")
    ap.add_argument("--object-crop", type=int, default=0,
                    help="decode only an NxN crop (N a multiple of 8) around one of each clip's objects, where the "
                         "round trip loses its PSNR; the frozen encoder still reads the whole clip")
    ap.add_argument("--frames", type=int, default=0,
                    help="train on windows of this many consecutive frames (4k+1) from a random start in each clip: "
                         "more scenes per second; the evaluation stays on whole clips (a probe: from the same state "
                         "9-frame windows gained less than whole clips, per step and per second; docs/models.md)")
    ap.add_argument("--crowd", type=int, default=0,
                    help="render the training clips with this many more objects each (small or medium, any kind): "
                         "more of the objects, where the round trip loses its PSNR, per clip (a probe: three gained "
                         "less than plain clips on the plain evaluation clips; docs/models.md)")
    ap.add_argument("--keep-reading", metavar="VAE",
                    help="with --whole: also train the decoder on this autoencoder's latents (its encoder's "
                         "posterior means, frozen): the latents the shipped transformer learnt to make, so the "
                         "continued decoder keeps reading them while its own encoder moves; evaluations print that "
                         "round trip too")
    ap.add_argument("--keep-weight", type=float, default=1.0, help="the weight of --keep-reading's loss")
    ap.add_argument("--keep-drawing", metavar="POOL", type=Path,
                    help="also train the decoder to draw the shipped transformer's own latents as the shipped "
                         "decoder did (a pool from `python -m training.drawn`; its last --eval-clips are kept out "
                         "of training and measured at every evaluation)")
    ap.add_argument("--drawing-weight", type=float, default=1.0, help="the weight of --keep-drawing's loss")
    ap.add_argument("--memorise", action="store_true",
                    help="train on the evaluation clips themselves, in turn (a capacity probe, not a model to ship)")
    a = ap.parse_args(argv)
    if not (a.model or a.vae):
        ap.error("give --model (an exported directory) or --vae (a saved autoencoder)")
    if a.object_crop and (a.object_crop % 8 or a.whole or a.memorise):
        ap.error("--object-crop takes a multiple of 8 and trains the decoder alone on fresh clips")
    if a.encoder and (a.whole or a.widen or a.object_crop):
        ap.error("--encoder trains the encoder alone (not with --whole, --widen or --object-crop)")
    if a.anchor and not a.encoder:
        ap.error("--anchor goes with --encoder")
    if a.frames and ((a.frames - 1) % 4 or a.frames > 17 or a.object_crop or a.memorise):
        ap.error("--frames takes 4k+1 frames, at most a clip's 17, and goes with fresh whole-frame clips")
    if a.keep_reading and (not a.whole or a.latent_channels or a.frames):
        ap.error("--keep-reading goes with --whole, on whole clips in the same latent channels")
    if a.keep_drawing and (a.encoder or a.latent_channels):
        ap.error("--keep-drawing trains the decoder, on latents of the pool's channels")
    if a.latent_channels and not a.whole:
        ap.error("--latent-channels goes with --whole (new latent channels need an encoder that learns them)")
    keep_freed_memory()
    if a.compile:
        whole_clip.compile_passes()
    from diffusers import AutoencoderKLWan
    torch.set_num_threads(a.threads)
    if not a.fp32 and (notice := bf16_notice(bf16_speedup())):
        print(notice, flush=True)
    torch.manual_seed(0)
    vae = AutoencoderKLWan.from_pretrained(a.vae or f"{a.model}/vae")
    if a.widen:
        narrow = sum(p.numel() for p in vae.decoder.parameters())
        vae = widen_decoder(vae, a.widen)
        print(f"decoder widened {a.widen}x: {narrow} -> {sum(p.numel() for p in vae.decoder.parameters())} parameters")
    if a.latent_channels:
        print(f"latents widened: {vae.config.z_dim} -> {a.latent_channels} channels", flush=True)
        vae = widen_latents(vae, a.latent_channels)
    if a.channels_last:
        whole_clip.channels_last(vae)      # before the optimiser and the average are made from its parameters
    own = ("encoder.", "quant_conv.") if a.encoder else ("decoder.", "post_quant_conv.")
    trained = [p for n, p in vae.named_parameters() if a.whole or n.startswith(own)]
    keep = {id(p) for p in trained}
    for p in vae.parameters():
        p.requires_grad_(id(p) in keep)
    opt = torch.optim.AdamW(trained, lr=a.lr, betas=(0.9, 0.99), weight_decay=0.0)

    average = copy.deepcopy(vae).eval().requires_grad_(False) if a.ema else None
    start = copy.deepcopy(vae).eval().requires_grad_(False) if a.encoder else None   # the latents it moves from
    kept = AutoencoderKLWan.from_pretrained(a.keep_reading).eval().requires_grad_(False) if a.keep_reading else None
    # moves are measured in the transformer's units: the kept autoencoder's latents_std, or the starting one's
    latents_std = torch.tensor((kept or vae).config.latents_std).view(1, -1, 1, 1, 1) \
        if a.encoder or kept is not None else None

    pool = torch.load(a.keep_drawing) if a.keep_drawing else None
    if pool is not None and len(pool["latents"]) <= a.eval_clips:
        raise SystemExit(f"{a.keep_drawing} holds {len(pool['latents'])} clips: more than --eval-clips are needed")
    pool_train = len(pool["latents"]) - a.eval_clips if pool is not None else 0

    def evaluate(model) -> dict:
        """{"own": the round trip's PSNR, and "reading" (the kept encoder's latents) and "drawing" (the pool's
        last clips against the shipped drawing) where those are kept}."""
        was_training = model.training
        model.eval()
        r = {"own": vae_psnr(model, n=a.eval_clips, batch=8)["psnr_mean"]}
        if kept is not None:
            r["reading"] = vae_psnr(model, n=a.eval_clips, batch=8, encoder=kept)["psnr_mean"]
        if pool is not None:
            with torch.no_grad():
                r["drawing"] = psnr(model.decode(pool["latents"][pool_train:]).sample.clamp(-1, 1),
                                    pool["drawn"][pool_train:]).mean().item()
        model.train(was_training)
        return r

    def shown(r: dict) -> str:
        return f"{r['own']:.3f} dB" + (f", reading the kept latents {r['reading']:.3f} dB" if "reading" in r else "") \
            + (f", drawing the shipped model's clips as before {r['drawing']:.2f} dB" if "drawing" in r else "")

    label = "PSNR of the fitted clips" if a.memorise else "held-out PSNR"
    first, elapsed, drawn = 1 - a.prime, 0.0, 0
    state = load_checkpoint(a.checkpoint) if a.checkpoint else None
    if state is not None:
        settings = resume_settings(a)
        changed = [f"--{k.replace('_', '-')} {state['settings'][k]} (now {v})"
                   for k, v in settings.items() if k in state["settings"] and state["settings"][k] != v]
        if changed:
            raise SystemExit(f"{a.checkpoint} was trained with other settings: {', '.join(changed)}; "
                             "give the same ones to continue it, or another --checkpoint to start afresh")
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if average is not None:
            average.load_state_dict(state["average"])
        torch.set_rng_state(state["rng"])
        first, elapsed, drawn = state["step"] + 1, state["elapsed"], state["drawn"]
        print(f"continuing {a.checkpoint} from step {state['step']} ({elapsed:.0f}s so far)"
              + (f"; it has reached --steps {a.steps} already" if state["step"] >= a.steps else ""), flush=True)
    else:
        print(f"step 0 {label} {shown(evaluate(vae))}", flush=True)
    fixed = frames_to_tensor(build(424242, a.eval_clips), "cpu") if a.memorise else None   # vae_psnr's clips
    vae.train()
    started, batch_psnr, moves = time.time() - elapsed, [], []
    for step in range(first, a.steps + 1):
        scale = min(1.0, step / a.warmup) if step > 0 else 0.0
        if a.cosine:
            scale *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = a.lr * scale
        opt.zero_grad(set_to_none=True)
        for k in range(a.accum):
            seed, z = a.seed * 100_000 + (step + a.prime) * a.accum + k, None   # z: the latents, when cropped
            if a.object_crop:
                x, z, _ = object_crops(vae, seed, a.batch, a.object_crop, amp=not a.fp32)
            elif fixed is not None:
                x = fixed[[(drawn + j) % len(fixed) for j in range(a.batch)]]
                drawn += a.batch
            else:
                x = frames_to_tensor(build(seed, a.batch, crowd=a.crowd), "cpu")
                if a.frames:
                    x = windows(x, a.frames, seed)
                if k % 2:
                    x = x.flip(-1)
            loss, rec, parts = autoencoder_loss(vae, x, train_encoder=a.whole or a.encoder, latents=z,   # OPL off
                                                amp=not a.fp32, l1_weight=a.l1_weight, sample=not a.encoder,
                                                clip_psnr=a.clip_psnr)
            if start is not None:
                with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=not a.fp32):
                    before = start._encode(x).chunk(2, dim=1)[0].float()
                moved = ((parts["mean"].float() - before) / latents_std).pow(2).mean()
                loss = loss + a.anchor * moved
                moves.append(moved.item())
            if kept is not None:    # the decoder on the kept encoder's latents too: the transformer's language
                kept_loss, old = kept_reading_loss(vae, kept, x, amp=not a.fp32, l1_weight=a.l1_weight)
                loss = loss + a.keep_weight * kept_loss
                moves.append(((parts["mean"].float() - old) / latents_std).pow(2).mean().item())
            if pool is not None:    # the shipped transformer's latents, drawn as the shipped decoder drew them
                picked = [((step + a.prime) * a.accum * a.batch + k * a.batch + j) % pool_train for j in range(a.batch)]
                loss = loss + a.drawing_weight * kept_drawing_loss(vae, pool["latents"][picked],
                                                                   pool["drawn"][picked], amp=not a.fp32)
            (loss / a.accum).backward()
            batch_psnr.append(psnr(rec.detach(), x).mean().item())
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        if average is not None and step > 0:
            update_average(average, vae, a.ema)
        if step > 0 and (step % a.eval_every == 0 or step == a.steps):
            recent = np.mean(batch_psnr[-a.eval_every * a.accum:])
            line = f"step {step} {time.time() - started:.0f}s batch PSNR {recent:.2f} dB {label} {shown(evaluate(vae))}"
            if moves:
                line += f" latents moved {math.sqrt(np.mean(moves[-a.eval_every * a.accum:])):.3f} std"
            if average is not None:
                line += f" (EMA {shown(evaluate(average))})"
            print(line, flush=True)
            if a.save:
                (average if average is not None else vae).save_pretrained(a.save)
            if a.checkpoint:
                save_checkpoint(a.checkpoint, {
                    "settings": resume_settings(a), "step": step, "drawn": drawn,
                    "elapsed": time.time() - started, "rng": torch.get_rng_state(), "model": vae.state_dict(),
                    "opt": opt.state_dict(), "average": average.state_dict() if average is not None else None})


if __name__ == "__main__":
    main()
