#!/usr/bin/env python3
"""Parity fixtures for the Swift Wan models (Tests/WanTests/Fixtures), from diffusers on torch CPU.

Tiny random (seeded) WanTransformer3DModel and AutoencoderKLWan in diffusers' own layout
(save_pretrained: config.json + diffusion_pytorch_model.safetensors, the bf16 transformer sharded with an
index.json as the real Wan2.1 checkpoints are), their inputs and outputs, and a few full sampling steps of
WanPipeline (FlowMatchEulerDiscreteScheduler with shift, classifier-free guidance) on fixed latents and
fixed text embeddings, plus the same loop on Movie Gen's linear-quadratic schedule.

    python3 tools/parity/wan_fixtures.py            # writes Tests/WanTests/Fixtures
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[2] / "Tests" / "WanTests" / "Fixtures"

TRANSFORMER = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                   out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True,
                   qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=64)
VAE = dict(base_dim=4, z_dim=4, dim_mult=[1, 2, 4, 4], num_res_blocks=1, temperal_downsample=[False, True, True])


def perturb(model: torch.nn.Module, seed: int, scale: float):
    """Random weights everywhere (norm gains and biases too, so every tensor is exercised)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.add_(torch.randn(p.shape, generator=g) * scale)


def tensors(path: Path, **named):
    save_file({k: v.detach().float().clone().contiguous() for k, v in named.items()}, str(path))


@torch.no_grad()
def transformer_fixtures():
    from diffusers import WanTransformer3DModel
    torch.manual_seed(0)
    model = WanTransformer3DModel(**TRANSFORMER).eval()
    perturb(model, 1, 0.05)
    # fp32, one file
    d32 = OUT / "transformer_fp32"
    model.save_pretrained(d32, safe_serialization=True)
    # bf16, sharded with an index (the layout of the released Wan2.1 checkpoints)
    d16 = OUT / "transformer_bf16_sharded"
    model16 = WanTransformer3DModel(**TRANSFORMER).eval()
    model16.load_state_dict(model.state_dict())
    model16.to(torch.bfloat16).save_pretrained(d16, safe_serialization=True, max_shard_size="40KB")
    assert (d16 / "diffusion_pytorch_model.safetensors.index.json").exists(), "bf16 transformer not sharded"
    # The bf16-rounded weights computed in fp32, as the Swift engine does. A fresh module, so that the RoPE
    # tables (non-persistent buffers, which .to(bfloat16) rounds) stay exact.
    ref16 = WanTransformer3DModel(**TRANSFORMER).eval()
    ref16.load_state_dict({k: v.float() for k, v in model16.state_dict().items()})

    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 4, 3, 4, 6, generator=g)            # [B, C, F, H, W]: non-square, several frames
    ctx = torch.randn(2, 7, 32, generator=g)
    t = torch.tensor([999.0, 437.5])
    out32 = model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    out16 = ref16(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    tensors(OUT / "transformer_io.safetensors", hidden_states=x, encoder_hidden_states=ctx, timestep=t,
            output_fp32=out32, output_bf16=out16)
    return model


@torch.no_grad()
def vae_fixtures():
    from diffusers import AutoencoderKLWan
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(4)
    mean = (torch.randn(VAE["z_dim"], generator=g) * 0.5).tolist()
    std = (torch.rand(VAE["z_dim"], generator=g) + 0.5).tolist()
    vae = AutoencoderKLWan(**VAE, latents_mean=mean, latents_std=std).eval()
    perturb(vae, 5, 0.02)
    vae.save_pretrained(OUT / "vae", safe_serialization=True)

    z = torch.randn(1, 4, 3, 4, 4, generator=g) * 0.5
    video = vae.decode(z, return_dict=False)[0]                      # [1, 3, 9, 32, 32], chunk by chunk
    # tiled decode: 48×40 output in 32-pixel tiles at stride 24 (2×2 tiles, blended)
    zt = torch.randn(1, 4, 2, 6, 5, generator=g) * 0.5
    vae.enable_tiling(tile_sample_min_height=32, tile_sample_min_width=32,
                      tile_sample_stride_height=24, tile_sample_stride_width=24)
    tiled = vae.decode(zt, return_dict=False)[0]
    vae.disable_tiling()
    x = torch.rand(1, 3, 9, 32, 32, generator=g) * 2 - 1
    posterior = vae.encode(x).latent_dist
    moments = posterior.parameters
    tensors(OUT / "vae_io.safetensors", latents=z, video=video, tiled_latents=zt, tiled_video=tiled,
            encode_input=x, encode_mean=posterior.mean, encode_moments=moments)
    print(f"vae: video range {video.min():.3f}..{video.max():.3f} std {video.std():.3f}; "
          f"tiled {tiled.shape}; mean {posterior.mean.shape}")
    return vae


@torch.no_grad()
def sampling_fixtures(transformer, vae):
    """WanPipeline with prompt embeddings (no text encoder), shift 3, guidance 5, 4 steps; then the same
    model on the linear-quadratic schedule (Movie Gen), written as the pipeline's loop with custom sigmas."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline
    from diffusers.pipelines.mochi.pipeline_mochi import linear_quadratic_schedule
    g = torch.Generator().manual_seed(6)
    latents = torch.randn(1, 4, 3, 4, 4, generator=g)
    cond = torch.randn(1, 7, 32, generator=g)
    uncond = torch.randn(1, 7, 32, generator=g) * 0.1
    steps, guidance, shift = 4, 5.0, 3.0

    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    sched.save_pretrained(OUT / "scheduler")
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=transformer, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    final = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=32, width=32, num_frames=9,
                 num_inference_steps=steps, guidance_scale=guidance, latents=latents.clone(),
                 output_type="latent", return_dict=False)[0]
    sched.set_timesteps(steps)
    shifted_sigmas, shifted_timesteps = sched.sigmas.clone(), sched.timesteps.clone()
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    video = vae.decode(final * std + mean, return_dict=False)[0]

    # Linear-quadratic (threshold 0.025, half the steps linear), unshifted.
    lq_steps = 6
    lq = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    lq.set_timesteps(sigmas=linear_quadratic_schedule(lq_steps, 0.025))
    x = latents.clone()
    for t in lq.timesteps:
        tt = t.expand(1)
        c = transformer(hidden_states=x, timestep=tt, encoder_hidden_states=cond, return_dict=False)[0]
        u = transformer(hidden_states=x, timestep=tt, encoder_hidden_states=uncond, return_dict=False)[0]
        x = lq.step(u + guidance * (c - u), t, x, return_dict=False)[0]

    tensors(OUT / "sampling.safetensors", latents=latents, prompt_embeds=cond, negative_prompt_embeds=uncond,
            shifted_sigmas=shifted_sigmas, shifted_timesteps=shifted_timesteps, final_latents=final, video=video,
            lq_sigmas=lq.sigmas.clone(), lq_timesteps=lq.timesteps.clone(), lq_final_latents=x)
    (OUT / "sampling.json").write_text(json.dumps({"steps": steps, "guidance": guidance, "flow_shift": shift,
                                                   "lq_steps": lq_steps, "lq_threshold_noise": 0.025,
                                                   "height": 32, "width": 32, "frames": 9}, indent=2) + "\n")
    print(f"sampling: final latents std {final.std():.3f}, video range {video.min():.3f}..{video.max():.3f}")


@torch.no_grad()
def default_model_fixtures():
    """Two guided steps and the decode with the committed default model (models/reel-t2v-default, bf16 weights
    upcast to fp32), on fixed latents and fixed (random) text embeddings of MiniLM's shape."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
    from safetensors.torch import load_file
    root = Path(__file__).resolve().parents[2] / "models" / "reel-t2v-default"
    if not (root / "model_index.json").exists():
        print("no models/reel-t2v-default: default-model fixtures skipped")
        return

    def load(cls, d):
        m = cls.from_config(cls.load_config(str(d)))
        m.load_state_dict({k: v.float() for k, v in load_file(str(d / "diffusion_pytorch_model.safetensors")).items()})
        return m.float().eval()
    dit, vae = load(WanTransformer3DModel, root / "transformer"), load(AutoencoderKLWan, root / "vae")
    sched = FlowMatchEulerDiscreteScheduler.from_pretrained(str(root / "scheduler"))
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=dit, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    g = torch.Generator().manual_seed(8)
    latents = torch.randn(1, 16, 5, 8, 8, generator=g)
    cond = torch.randn(1, 48, 384, generator=g) * 0.3
    cond[:, 12:] = 0          # MiniLM's layout: the prompt's tokens, then zero rows
    uncond = torch.zeros(1, 48, 384)
    uncond[:, :2] = torch.randn(1, 2, 384, generator=g) * 0.3
    final = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=64, width=64, num_frames=17,
                 num_inference_steps=2, guidance_scale=5.0, latents=latents.clone(), output_type="latent",
                 return_dict=False)[0]
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    video = vae.decode(final * std + mean, return_dict=False)[0]
    tensors(OUT / "default_model.safetensors", latents=latents, prompt_embeds=cond, negative_prompt_embeds=uncond,
            final_latents=final, video=video.half())
    print(f"default model: 2 steps, video {tuple(video.shape)}")


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    torch.set_num_threads(1)
    t = transformer_fixtures()
    v = vae_fixtures()
    sampling_fixtures(t, v)
    default_model_fixtures()
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    sys.exit(main())
