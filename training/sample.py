"""Reference sampling with diffusers' WanPipeline from an exported directory, MiniLM embeddings passed in."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


def load_pipeline(model_dir: Path, device: str, dtype=torch.float32):
    """Components loaded one by one (stored bf16 weights upcast to `dtype`); no text encoder: prompts arrive
    as MiniLM embeddings."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
    model_dir = Path(model_dir)
    dit = load_component(WanTransformer3DModel, model_dir / "transformer", dtype)
    vae = load_component(AutoencoderKLWan, model_dir / "vae", dtype)
    sched = FlowMatchEulerDiscreteScheduler.from_pretrained(str(model_dir / "scheduler"))
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=dit, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def load_component(cls, path: Path, dtype=torch.float32):
    """config.json + diffusion_pytorch_model.safetensors, every tensor upcast to `dtype`, strictly matched
    (diffusers' own from_pretrained needs `accelerate` for models with float32-kept modules)."""
    from safetensors.torch import load_file
    model = cls.from_config(cls.load_config(str(path)))
    state = load_file(str(path / "diffusion_pytorch_model.safetensors"))
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    return model.to(dtype).eval()


def defaults(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / "reel.json").read_text())["defaults"]


@torch.no_grad()
def generate(pipe, encoder, prompts: list[str], seeds: list[int], *, steps: int, guidance: float,
             negative: str = "", width=64, height=64, frames=17, batch: int = 50, device="cpu",
             latents: bool = False) -> np.ndarray | torch.Tensor:
    """(N, T, H, W, 3) uint8. Each prompt's noise comes from its own seed (torch.Generator on the CPU). With
    `latents`, the sampled latents instead, as the autoencoder's decoder reads them (un-normalised: z = x *
    latents_std + latents_mean), (N, z_dim, T', H', W') float32 on the CPU."""
    out = []
    for i in range(0, len(prompts), batch):
        ps, ss = prompts[i:i + batch], seeds[i:i + batch]
        emb = encoder.encode(ps).to(device)
        neg = encoder.encode([negative] * len(ps)).to(device)
        gens = [torch.Generator("cpu").manual_seed(int(s)) for s in ss]
        z = torch.stack([torch.randn((pipe.vae.config.z_dim, (frames - 1) // 4 + 1, height // 8, width // 8),
                                     generator=g) for g in gens]).to(device)
        res = pipe(prompt_embeds=emb.to(pipe.transformer.dtype), negative_prompt_embeds=neg.to(pipe.transformer.dtype),
                   height=height, width=width, num_frames=frames, num_inference_steps=steps,
                   guidance_scale=guidance, latents=z.to(pipe.transformer.dtype),
                   output_type="latent" if latents else "np")
        if latents:
            cfg = pipe.vae.config
            std = torch.tensor(cfg.latents_std).view(1, -1, 1, 1, 1)
            out.append(res.frames.float().cpu() * std + torch.tensor(cfg.latents_mean).view(1, -1, 1, 1, 1))
        else:
            out.append(np.clip(np.round(np.asarray(res.frames) * 255), 0, 255).astype(np.uint8))
    return torch.cat(out) if latents else np.concatenate(out)
