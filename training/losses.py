"""Autoencoder losses: reconstruction, KL, and Movie Gen's outlier penalty (OPL)."""
from __future__ import annotations

import torch


def kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()


def outlier_penalty(z: torch.Tensor, r: float = 3.0) -> torch.Tensor:
    """Movie Gen's OPL: penalise latent values further than r standard deviations from their mean.

    z: (B, C, T, H, W). Mean and std are taken per sample, channel and frame over the spatial positions, so
    a few high-norm "spots" that the decoder would otherwise learn to rely on are pushed back in.
    """
    mu = z.mean(dim=(-2, -1), keepdim=True)
    sd = z.std(dim=(-2, -1), keepdim=True)
    return torch.relu((z - mu).abs() - r * sd).mean()


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB for tensors in [-1, 1] (peak-to-peak 2), per sample."""
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-10))
