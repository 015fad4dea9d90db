r"""The whole pipeline, resumable: world data -> text embeddings -> autoencoder -> latents -> transformer (with
decoder fine-tuning on the frozen encoder's latents) -> export -> held-out evaluation.

    python -m training.run_all --run-dir training/runs/default --minilm ~/.local/share/reel/models/all-minilm-l6-v2 \
        --export models/reel-t2v-default

Every phase checkpoints into --run-dir and a rerun continues where the last one stopped (the time budgets
make one session stop cleanly; run it again to go on). Seeds are fixed: --data-seed picks the clips, --seed
the training noise.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .common import (LossLog, bf16_notice, bf16_speedup, device as pick_device, keep_freed_memory, plot_losses,
                     seed_everything, write_json)
from .data import load_or_build
from .models import DiTConfig, VAEConfig, TINY_DIT, TINY_VAE, count, make_dit, make_vae
from .text_encoder import MiniLM
from .trainers import DiTTrainer, VAETrainer, encode_latents
from . import whole_clip
from .world import WorldConfig, eval_prompts


def log(msg: str):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_phase(trainers: list, budget: float, log_every: int, ckpt_every: int, logs: dict, calibrate: bool):
    """Step the trainers in turn until all are done or the time budget is spent. On a fresh start the step
    totals shrink to what the budget allows (measured over the first steps), so the LR schedule completes. The
    totals are measured again once a fifth of the budget has passed: the first rounds' pace can mislead when
    another run shares the device (two trainings on one GPU) or the machine is busy. The first measurement is
    over rounds 10-40, or sooner, from round 1 on, once a tenth of the budget has passed (steps so slow, a CPU's,
    that 40 rounds would not fit: unmeasured, the schedule would never end in time)."""
    t0 = time.time()
    live = [t for t in trainers if not t.done()]
    calibrated = not calibrate
    asked = {id(t): t.total for t in live}     # a measurement never asks for more steps than were asked for
    recalibrated = not calibrate
    n, marks, cal_n, cal_t = 0, {}, None, None      # marks: the time at rounds 1 and 10

    def retarget(per: float, tolerance: float, why: str):
        """Set the totals of the trainers that started with this phase to what the rest of the budget allows."""
        fit = int((budget - (time.time() - t0)) / per) + n
        for tr in live:
            new = min(fit, asked[id(tr)])
            if tr.step_n == n and abs(new - tr.total) > tolerance * tr.total:
                log(f"{tr.name}: {per * 1000:.0f} ms per round {why}, {tr.total} -> {new} steps")
                tr.total = new

    while live and time.time() - t0 < budget:
        for tr in live:
            m = tr.step()
            if tr.step_n % log_every == 0 or tr.step_n == 1:
                logs[tr.name].add(tr.step_n, **m)
            if tr.step_n % ckpt_every == 0:
                tr.save()
        n += 1
        now = time.time()
        if n in (1, 10):
            marks[n] = now
        if not calibrated and (n == 40 or (n >= 2 and now - t0 > budget / 10)):
            since = 10 if n > 10 else 1      # from round 10: past the first steps' warm-up costs
            retarget((now - marks[since]) / (n - since), 0.0, f"over rounds {since}-{n}")
            calibrated, cal_n, cal_t = True, n, now
        if not recalibrated and cal_t is not None and now - t0 > budget / 5 and n > cal_n + 40:
            retarget((now - cal_t) / (n - cal_n), 0.02, f"since round {cal_n}")
            recalibrated = True
        if n % 200 == 0:
            log(" ".join(f"{tr.name} {tr.step_n}/{tr.total} " + ",".join(f"{k}={v:.4g}" for k, v in m.items()
                         if k in ("loss", "psnr")) for tr in live))
        live = [t for t in live if not t.done()]
    for tr in trainers:
        tr.save()
    return all(t.done() for t in trainers)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--minilm", type=Path, required=True)
    ap.add_argument("--export", type=Path)
    ap.add_argument("--tiny", action="store_true", help="tiny models, for a smoke test of the whole pipeline")
    ap.add_argument("--clips", type=int, default=16000)
    ap.add_argument("--captions-per-clip", type=int, default=3)
    ap.add_argument("--data-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--vae-steps", type=int, default=6000)
    ap.add_argument("--vae-batch", type=int, default=16)
    ap.add_argument("--vae-lr", type=float, default=4e-4)
    ap.add_argument("--vae-window", type=int, default=5, help="frames per training window (4k+1; 0 = whole clip)")
    ap.add_argument("--vae-crop", type=int, default=32, help="square crop size, a multiple of 8 (0 = whole frame)")
    ap.add_argument("--vae-whole-fraction", type=float, default=0.5,
                    help="the last fraction of autoencoder steps trains on whole clips (no window, no crop)")
    ap.add_argument("--decoder-batch", type=int, default=8)
    ap.add_argument("--vae-budget", type=float, default=1e9, help="seconds for this session's autoencoder phase")
    ap.add_argument("--vae-ema", type=float, default=0.0, help="export an EMA of the autoencoder's weights (this "
                    "decay; 0 = the last weights), in both the autoencoder phase and the decoder fine-tuning")
    ap.add_argument("--vae-l1-weight", type=float, default=1.0,
                    help="weight of the L1 term beside the MSE (0 = MSE alone, which is what PSNR measures)")
    ap.add_argument("--opl-weight", type=float, default=0.1, help="Movie Gen's outlier penalty (0 = off)")
    ap.add_argument("--dit-steps", type=int, default=20000)
    ap.add_argument("--dit-batch", type=int, default=128)
    ap.add_argument("--dit-lr", type=float, default=3e-4)
    ap.add_argument("--dit-t-shift", type=float, default=1.0, help="shift of the training timesteps toward noise "
                    "(t' = s t / (1 + (s - 1) t) of a logit-normal t; 1 = Movie Gen's logit-normal)")
    ap.add_argument("--dit-ema", type=float, default=0.999, help="EMA decay of the exported transformer "
                    "(a short run wants a shorter memory)")
    ap.add_argument("--decoder-steps", type=int, default=6000, help="decoder fine-tuning beside the transformer")
    ap.add_argument("--decoder-online", action="store_true",
                    help="decoder fine-tuning on windows and crops that the frozen encoder encodes as they are "
                         "drawn (no latents of the data set; with --dit-steps 0 none are computed at all)")
    ap.add_argument("--decoder-window", type=int, default=9,
                    help="with --decoder-online: frames per window (9 = first frame + two causal chunks)")
    ap.add_argument("--decoder-crop", type=int, default=32, help="with --decoder-online: square crop (0 = whole)")
    ap.add_argument("--decoder-whole-fraction", type=float, default=0.0,
                    help="with --decoder-online: the last fraction of the decoder's steps on whole frames (no crop, "
                         "no window), so the decoder also learns the frame borders at the real latent size")
    ap.add_argument("--dit-bf16", action="store_true", help="bf16 autocast for the transformer on a GPU too "
                    "(by default it trains in fp32/TF32 there, as run B did)")
    ap.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast for the autoencoder and the transformer "
                    "on a CPU (oneDNN's bf16 kernels on AVX512-BF16)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the training steps (the autoencoder's "
                    "whole-clip passes, the transformer): on this CPU 1.2x / 1.4x faster steps after about a minute "
                    "of compiling each; pays on long runs of whole clips (windows and crops compile per size)")
    ap.add_argument("--channels-last", action="store_true", help="the autoencoder's weights and clips laid out "
                    "channels-last: fp32 steps ~4%% faster compiled, ~10%% eager on an Intel CPU "
                    "(`training.step_speed --channels-last`)")
    ap.add_argument("--joint-budget", type=float, default=1e9)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--sample-steps", type=int, default=30)
    ap.add_argument("--eval-limit", type=int)
    ap.add_argument("--psnr-clips", type=int, default=64)
    ap.add_argument("--flow-shift", type=float, help="with --guidance: skip the validation sweep, use these")
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--vae-dtype", default="bfloat16")
    ap.add_argument("--total-budget", type=float, help="seconds for this whole session: after the data, the "
                    "autoencoder and joint phases share what is left (less --reserve for export and evaluation)")
    ap.add_argument("--reserve", type=float, default=75)
    ap.add_argument("--vae-share", type=float, default=0.5)
    ap.add_argument("--commit", help="the training code's commit, for the manifest (default: git rev-parse HEAD)")
    ap.add_argument("--export-partial", action="store_true",
                    help="export (and evaluate) even when the transformer/decoder schedule has not finished: "
                         "a time-boxed session keeps what it reached (with --joint-budget 0: export only)")
    ap.add_argument("--init-from", type=Path, help="start from an exported model's weights (weights only: "
                    "optimiser and schedule start afresh; with --vae-steps 0 its encoder and latent statistics stay)")
    a = ap.parse_args(argv)
    if a.eval_limit == 0 and not (a.flow_shift and a.guidance):
        ap.error("--eval-limit 0 leaves no validation prompts to choose the sampler's settings on: "
                 "give --flow-shift and --guidance")
    keep_freed_memory()

    dev = pick_device()
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if dev == "cpu" and a.cpu_bf16 and (notice := bf16_notice(bf16_speedup())):
        log(notice)
    seed_everything(a.seed)
    rd = a.run_dir
    rd.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    vcfg, dcfg = (TINY_VAE, TINY_DIT) if a.tiny else (VAEConfig(), DiTConfig())
    wcfg = WorldConfig()
    write_json(rd / "config.json", {"args": {k: str(v) for k, v in vars(a).items()}, "vae": vars(vcfg),
                                    "dit": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(dcfg).items()},
                                    "world": vars(wcfg)})
    state = json.loads((rd / "state.json").read_text()) if (rd / "state.json").exists() else {"wall": {}}

    # 1. data
    t = time.time()
    frames, caps = load_or_build(rd / "cache", a.data_seed, a.clips, wcfg, a.workers, a.captions_per_clip)
    log(f"data: {frames.shape} clips, {sum(len(c) for c in caps)} captions ({time.time() - t:.0f} s)")
    if dev == "cuda":                     # the whole data set fits in GPU memory as uint8
        frames = torch.from_numpy(np.ascontiguousarray(frames)).to(dev)

    # 2. text embeddings (frozen MiniLM), cached
    tp = rd / "cache" / f"text_{a.data_seed}_{a.clips}.pt"
    enc = None
    if not a.dit_steps:                   # only the transformer reads captions
        text = null = None
    elif tp.exists():
        text, null = torch.load(tp)
    else:
        t = time.time()
        enc = MiniLM(a.minilm, device=dev)
        flat = [c for cs in caps for c in cs]
        text = enc.encode(flat).half().view(len(caps), a.captions_per_clip, -1, 384).cpu()
        null = enc.encode([""])[0].half().cpu()
        torch.save((text, null), tp)
        log(f"text: {tuple(text.shape)} embeddings ({time.time() - t:.0f} s), unknown tokens {enc.unknown_tokens}")
    if text is not None:
        text, null = text.to(dev), null.to(dev)
    if a.total_budget:
        left = a.total_budget - (time.time() - t_start) - a.reserve
        a.vae_budget = min(a.vae_budget, left * a.vae_share) if a.vae_steps else 0
        a.joint_budget = min(a.joint_budget, left - a.vae_budget)
        log(f"budgets: autoencoder {a.vae_budget:.0f} s, joint {a.joint_budget:.0f} s")

    # 3. autoencoder
    if a.compile:                         # run_phase measures its pace after round 1: compiling is not counted
        whole_clip.compile_passes()
    vae = make_vae(vcfg).to(dev)
    init = None
    if a.init_from:
        from .sample import load_component
        from diffusers import AutoencoderKLWan, WanTransformer3DModel
        has_dit = (a.init_from / "transformer" / "config.json").exists()   # a VAE-only start is allowed
        init = (load_component(AutoencoderKLWan, a.init_from / "vae"),
                load_component(WanTransformer3DModel, a.init_from / "transformer") if has_dit else None)
        vae.load_state_dict(init[0].state_dict())
        log(f"initialised from {a.init_from}")
    if a.channels_last:
        whole_clip.channels_last(vae)
    log(f"vae: {count(vae) / 1e6:.2f} M parameters")
    vt = VAETrainer(vae, frames, rd, lr=a.vae_lr, total_steps=a.vae_steps, batch=a.vae_batch, seed=a.seed,
                    device=dev, opl_weight=a.opl_weight, window=a.vae_window, crop=a.vae_crop,
                    whole_fraction=a.vae_whole_fraction, cpu_amp=a.cpu_bf16, ema=a.vae_ema,
                    l1_weight=a.vae_l1_weight)
    fresh = not vt.resume()
    logs = {"vae": LossLog(rd / "vae_loss.csv", ["loss", "l1", "psnr", "kl", "opl"], vt.step_n)}
    t = time.time()
    done = run_phase([vt], a.vae_budget, a.log_every, a.ckpt_every, logs, calibrate=fresh)
    state["wall"]["vae"] = state["wall"].get("vae", 0) + time.time() - t
    plot_losses(rd / "vae_loss.csv", rd / "vae_loss.png", "autoencoder")
    log(f"vae: step {vt.step_n}/{vt.total} ({vt.seconds:.0f} s of steps)")
    state.update(vae_steps=vt.step_n)
    write_json(rd / "state.json", state)
    if not done:
        log("autoencoder not finished: run again to continue")
        return 1
    if vt.ema is not None and vt.step_n:    # the average is what the latents, the decoder and the export build on
        vae.load_state_dict(vt.ema.state_dict())

    # 4. latents of the frozen encoder, normalised per channel: needed by the transformer, and by the decoder
    # unless it encodes its own windows (--decoder-online)
    need_latents = a.dit_steps > 0 or (a.decoder_steps > 0 and not a.decoder_online)
    lp = rd / "cache" / "latents.pt"
    if not need_latents:
        if init is None or a.vae_steps:
            raise SystemExit("--dit-steps 0 with online decoder fine-tuning needs --init-from and --vae-steps 0")
        lat = None
        mean, std = torch.tensor(init[0].config.latents_mean), torch.tensor(init[0].config.latents_std)
    elif lp.exists():
        lat, mean, std = torch.load(lp)
    else:
        t = time.time()
        vae.eval()
        lat = encode_latents(vae, frames, dev, cpu_bf16=a.cpu_bf16)
        mean, std = lat.mean(dim=(0, 2, 3, 4)), lat.std(dim=(0, 2, 3, 4))
        if init is not None and not a.vae_steps:   # same encoder: keep the initial transformer's normalisation
            mean = torch.tensor(init[0].config.latents_mean)
            std = torch.tensor(init[0].config.latents_std)
        torch.save((lat.cpu(), mean.cpu(), std.cpu()), lp)
        log(f"latents: {tuple(lat.shape)} ({time.time() - t:.0f} s), std {std.min():.3f}..{std.max():.3f}")
    if lat is not None:
        lat = lat.to(dev)
        norm = ((lat - mean.to(dev).view(1, -1, 1, 1, 1)) / std.to(dev).view(1, -1, 1, 1, 1)).contiguous()
    vae.register_to_config(latents_mean=[float(v) for v in mean], latents_std=[float(v) for v in std])

    # 5. transformer, with the decoder fine-tuning on the same latents
    dit = make_dit(dcfg, vcfg.z_dim)
    if init is not None and init[1] is not None:
        dit.load_state_dict(init[1].state_dict())
    dit = dit.to(dev)
    log(f"dit: {count(dit) / 1e6:.2f} M parameters")
    dt = DiTTrainer(dit, norm if lat is not None else None, text, null, rd, lr=a.dit_lr, total_steps=a.dit_steps,
                    batch=a.dit_batch, seed=a.seed + 1, device=dev, cpu_amp=a.cpu_bf16 or a.dit_bf16,
                    ema=a.dit_ema, t_shift=a.dit_t_shift)
    if a.compile:
        dit.compile()                     # in place, after the trainer copied its average: the export stays eager
    vae.requires_grad_(False)
    vae.decoder.requires_grad_(True)
    vae.post_quant_conv.requires_grad_(True)
    vae.train()
    ft = VAETrainer(vae, frames, rd, lr=a.vae_lr * 0.5, total_steps=a.decoder_steps, batch=a.decoder_batch,
                    seed=a.seed + 2, device=dev, latents=None if a.decoder_online else lat,
                    frozen_encoder=a.decoder_online, window=a.decoder_window if a.decoder_online else 0,
                    crop=a.decoder_crop if a.decoder_online else 0,
                    whole_fraction=a.decoder_whole_fraction if a.decoder_online else 0.0, cpu_amp=a.cpu_bf16,
                    ema=a.vae_ema, l1_weight=a.vae_l1_weight)
    fresh = not dt.resume()
    ft.resume()
    logs.update(dit=LossLog(rd / "dit_loss.csv", ["loss"], dt.step_n),
                vae_decoder=LossLog(rd / "vae_decoder_loss.csv", ["loss", "l1", "psnr", "kl", "opl"], ft.step_n))
    t = time.time()
    done = run_phase([t_ for t_, n_ in ((dt, a.dit_steps), (ft, a.decoder_steps)) if n_], a.joint_budget, a.log_every, a.ckpt_every, logs,
                     calibrate=fresh)
    state["wall"]["joint"] = state["wall"].get("joint", 0) + time.time() - t
    if a.dit_steps:
        plot_losses(rd / "dit_loss.csv", rd / "dit_loss.png", "transformer (flow matching)")
    plot_losses(rd / "vae_decoder_loss.csv", rd / "vae_decoder_loss.png", "decoder fine-tuning")
    log(f"dit: step {dt.step_n}/{dt.total} ({dt.seconds:.0f} s); decoder: step {ft.step_n}/{ft.total}")
    state.update(dit_steps=dt.step_n, decoder_steps=ft.step_n)
    write_json(rd / "state.json", state)
    if not done:
        log("transformer not finished: run again to continue")
        if not (a.export and a.export_partial):
            return 1

    # 6. export, choosing the sampler settings on a validation draw of held-out prompts (not the test draw)
    if a.export:
        from .export import export
        from .sample import generate, load_pipeline
        from .eval.benchmark import score_clips, vae_psnr, markdown, sample_sheet
        from .eval.sweep import best, sweep
        if enc is None:
            enc = MiniLM(a.minilm, device=dev)
        if ft.ema is not None and ft.step_n:   # export the decoder's average (same encoder, same config)
            vae.load_state_dict(ft.ema.state_dict())
        vae.eval()
        training = {"code_commit": a.commit, "data_seed": a.data_seed, "seed": a.seed, "clips": a.clips, "vae_steps": vt.step_n,
                    "decoder_steps": ft.step_n, "dit_steps": dt.step_n, "vae_batch": a.vae_batch,
                    "dit_batch": a.dit_batch, "vae_ema": a.vae_ema, "vae_l1_weight": a.vae_l1_weight,
                    "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                    "wall_seconds": {k: round(v) for k, v in state["wall"].items()}, "opl_weight": a.opl_weight,
                    "world": vars(wcfg)}
        if a.init_from:                     # the steps above continue this model's training
            im = a.init_from / "manifest.json"
            training["init_from"] = {"path": str(a.init_from),
                                     "training": json.loads(im.read_text())["training"] if im.exists() else None}
        vdt = getattr(torch, a.vae_dtype)
        base = dict(steps=a.sample_steps, width=wcfg.width, height=wcfg.height, num_frames=wcfg.frames,
                    fps=wcfg.fps, negative_prompt="", sampler="flow-match-euler")
        rows = []
        if a.flow_shift and a.guidance:
            shift, g = a.flow_shift, a.guidance
        else:
            export(a.export, vae, dt.ema, flow_shift=3.0, defaults={**base, "guidance_scale": 5.0, "flow_shift": 3.0},
                   training=training, vae_dtype=vdt)
            rows = sweep(load_pipeline(a.export, dev), enc, eval_prompts(seed=5000)[: a.eval_limit], (1.0, 3.0),
                         (3.0, 5.0, 8.0), steps=a.sample_steps, device=dev,
                         report=lambda r: log(f"validation shift {r['shift']} guidance {r['guidance']}: "
                                              f"colour {r['colour']:.3f} motion {r['motion']:.3f}"))
            chosen = best(rows)
            shift, g = chosen["shift"], chosen["guidance"]
        manifest = export(a.export, vae, dt.ema, flow_shift=shift,
                          defaults={**base, "guidance_scale": g, "flow_shift": shift}, training=training, vae_dtype=vdt)
        if rows:
            write_json(rd / "sweep.json", rows)
        if a.eval_limit == 0:             # evaluate later with python -m training.eval.benchmark
            log(f"exported {a.export}; total wall {time.time() - t_start:.0f} s")
            return 0
        # 7. the held-out test prompts, with the exported files
        pipe = load_pipeline(a.export, dev)
        test = eval_prompts()[: a.eval_limit]
        t = time.time()
        clips = generate(pipe, enc, [p["prompt"] for p in test], [p["seed"] for p in test], steps=a.sample_steps,
                         guidance=g, device=dev)
        res = score_clips(test, clips)
        vq = vae_psnr(pipe.vae, n=a.psnr_clips, device=dev)
        write_json(rd / "eval.json", {"shift": shift, "guidance": g, "steps": a.sample_steps, "generated": res,
                                      "vae": vq, "sample_seconds": time.time() - t})
        (rd / "eval_table.md").write_text(markdown(res, vq))
        sample_sheet(clips[:10], [p["prompt"] for p in test[:10]], rd / "samples.png")
        np.save(rd / "eval_clips.npy", clips)
        log("\n" + markdown(res, vq))
        log(f"total wall {time.time() - t_start:.0f} s; manifest files {len(manifest['files'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
