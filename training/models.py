"""The default model's architecture: a small Wan VAE and a small Wan transformer, as diffusers classes."""
from __future__ import annotations

from dataclasses import dataclass, asdict, field

import torch

from .text_encoder import TEXT_DIM


@dataclass
class VAEConfig:
    base_dim: int = 32
    z_dim: int = 16
    dim_mult: list = field(default_factory=lambda: [1, 2, 4, 4])
    num_res_blocks: int = 1
    temperal_downsample: list = field(default_factory=lambda: [False, True, True])   # 4x in time, 8x in space


@dataclass
class DiTConfig:
    patch_size: tuple = (1, 2, 2)
    num_attention_heads: int = 4
    attention_head_dim: int = 64
    ffn_dim: int = 768
    num_layers: int = 6
    freq_dim: int = 256


# Sizes for smoke tests of the pipeline on a CPU.
TINY_VAE = VAEConfig(base_dim=8, z_dim=16, num_res_blocks=1)
TINY_DIT = DiTConfig(num_attention_heads=2, attention_head_dim=32, ffn_dim=128, num_layers=2)


def make_vae(c: VAEConfig, latents_mean=None, latents_std=None):
    from diffusers import AutoencoderKLWan
    return AutoencoderKLWan(base_dim=c.base_dim, z_dim=c.z_dim, dim_mult=list(c.dim_mult),
                            num_res_blocks=c.num_res_blocks, temperal_downsample=list(c.temperal_downsample),
                            latents_mean=list(latents_mean or [0.0] * c.z_dim),
                            latents_std=list(latents_std or [1.0] * c.z_dim))


def make_dit(c: DiTConfig, z_dim: int):
    from diffusers import WanTransformer3DModel
    return WanTransformer3DModel(patch_size=tuple(c.patch_size), num_attention_heads=c.num_attention_heads,
                                 attention_head_dim=c.attention_head_dim, in_channels=z_dim, out_channels=z_dim,
                                 text_dim=TEXT_DIM, freq_dim=c.freq_dim, ffn_dim=c.ffn_dim, num_layers=c.num_layers,
                                 cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6)


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
