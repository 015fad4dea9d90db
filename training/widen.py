"""Widens an AutoencoderKLWan's decoder k times (`decoder_base_dim` = k x `base_dim`) without changing what it
computes (Net2WiderNet, Chen et al. 2016), so that a larger decoder starts where the trained one is, on the same
latents: the encoder, and so the transformer trained on its latents, stay valid.

Every hidden channel of the decoder is copied k times. A layer that reads copied channels splits each of its
input weights between the copies at random fractions summing to one (not evenly: even splits would give the
copies equal gradients forever, and the wider decoder would stay the narrow one). The RMS norms keep their
values (k copies raise a vector's norm by sqrt(k), as `scale` = sqrt(channels) does), and the attention's
queries are scaled by 1/sqrt(k), since k-fold keys and queries multiply their dot products by k.
Two output axes are laid out in blocks, not as one run of channels: the temporal upsampler's `time_conv`
(two frames' channels, one after the other) and the attention's `to_qkv` (q, k, v).

    python -m training.finetune_vae --model models/reel-t2v-default --widen 2 ...
"""
from __future__ import annotations

import math

import torch


def _copy_axis(t: torch.Tensor, axis: int, k: int, blocks: int = 1) -> torch.Tensor:
    """Each of `blocks` consecutive runs of channels along `axis`, repeated k times in place."""
    parts = t.chunk(blocks, axis)
    return torch.cat([torch.cat([p] * k, axis) for p in parts], axis)


def _split_axis(t: torch.Tensor, axis: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """Input weights for k copies of every input channel: fractions in [0.5/k, 1.5/k) of the weight that sum to one."""
    r = torch.rand((k,) + tuple(t.shape), generator=gen) + 0.5
    r = r / r.sum(0, keepdim=True)
    return torch.cat([t * r[i] for i in range(k)], axis)


def widen_tensor(name: str, old: torch.Tensor, shape: torch.Size, k: int, gen: torch.Generator) -> torch.Tensor:
    t = old.detach().float().clone()
    for axis, (o, n) in enumerate(zip(old.shape, shape)):
        if n == o:
            continue
        if n != k * o:
            raise ValueError(f"{name}: axis {axis} is {o} wide, the widened one {n}; expected {k * o}")
        if axis == 1 and t.dim() >= 2:          # a convolution's input channels
            t = _split_axis(t, 1, k, gen)
        else:                                   # output channels, biases, norm gains
            blocks = 2 if "time_conv" in name else 3 if "to_qkv" in name else 1
            t = _copy_axis(t, axis, k, blocks if axis == 0 else 1)
    if "to_qkv" in name and t.shape[0] != old.shape[0]:
        t[: t.shape[0] // 3] /= math.sqrt(k)
    return t.to(old.dtype)


def widen_decoder(vae, k: int = 2, seed: int = 0):
    """A new AutoencoderKLWan whose decoder is k times as wide as `vae`'s and computes the same function."""
    from diffusers import AutoencoderKLWan
    if k < 2:
        raise ValueError("widen by an integer factor of at least 2")
    cfg = {key: v for key, v in vae.config.items() if not key.startswith("_")}
    cfg["decoder_base_dim"] = k * (cfg.get("decoder_base_dim") or cfg["base_dim"])
    wide = AutoencoderKLWan(**cfg)
    if wide.dtype != vae.dtype:
        wide = wide.to(vae.dtype)
    gen = torch.Generator().manual_seed(seed)
    old = vae.state_dict()
    new = {name: widen_tensor(name, old[name], t.shape, k, gen) if name.startswith("decoder.") else old[name]
           for name, t in wide.state_dict().items()}
    wide.load_state_dict(new)
    return wide.train(vae.training)


def widen_latents(vae, z_dim: int, seed: int = 0, logvar: float = -4.0):
    """A new AutoencoderKLWan with `z_dim` latent channels where `vae` has fewer, computing the same round trip.

    The old channels keep their weights. Each new latent channel starts as a random feature of the encoder's last
    hidden layer (a fresh row of `encoder.conv_out`, passed straight through `quant_conv`), with a small fixed
    posterior spread (log-variance `logvar`); the decoder reads it through `post_quant_conv`'s identity into
    `decoder.conv_in` columns that start at zero. So the decoder ignores the new channels at first, and their
    gradients (through those zero columns, which are not a product of two zeros) teach it to use them. The new
    channels' `latents_mean` / `latents_std` start at 0 / 1 (a model's transformer needs measuring them again)."""
    from diffusers import AutoencoderKLWan
    old_z = vae.config.z_dim
    if z_dim <= old_z:
        raise ValueError(f"the latents have {old_z} channels; widen to more than that, not {z_dim}")
    cfg = {key: v for key, v in vae.config.items() if not key.startswith("_")}
    cfg["z_dim"] = z_dim
    cfg["latents_mean"] = list(cfg["latents_mean"]) + [0.0] * (z_dim - old_z)
    cfg["latents_std"] = list(cfg["latents_std"]) + [1.0] * (z_dim - old_z)
    with torch.random.fork_rng(devices=[]):     # seeded, and the caller's random stream left as it was
        torch.manual_seed(seed)      # the new conv_out rows: a fresh layer's default initialisation
        wide = AutoencoderKLWan(**cfg)
    old, new = vae.state_dict(), wide.state_dict()
    grow = z_dim - old_z
    eye = torch.eye(grow).view(grow, grow, 1, 1, 1)                      # a 1x1x1 convolution passing channels on
    kept = torch.arange(old_z)
    kept2 = torch.cat([kept, kept + z_dim])     # the old (mean, log-variance) channels in the wide 2 x z layout
    fresh_mu, fresh_lv = slice(old_z, z_dim), slice(z_dim + old_z, 2 * z_dim)
    out = {}
    for name, t in new.items():
        o = old[name]
        if name.startswith("encoder.conv_out."):
            t = t.detach().clone()                   # the fresh rows keep their initialisation: new features
            t[kept2] = o
            t[fresh_lv] = 0.0                        # the new log-variances: all from quant_conv's bias
        elif name == "quant_conv.weight":
            t = torch.zeros_like(t)
            t[kept2[:, None], kept2] = o
            t[fresh_mu, fresh_mu] = eye
        elif name == "quant_conv.bias":
            t = torch.zeros_like(t)
            t[kept2] = o
            t[fresh_lv] = logvar
        elif name == "post_quant_conv.weight":
            t = torch.zeros_like(t)
            t[kept[:, None], kept] = o
            t[fresh_mu, fresh_mu] = eye
        elif name == "post_quant_conv.bias":
            t = torch.zeros_like(t)
            t[kept] = o
        elif name == "decoder.conv_in.weight":
            t = torch.zeros_like(t)
            t[:, kept] = o
        else:
            t = o
        out[name] = t
    wide.load_state_dict(out)
    return wide.to(vae.dtype).train(vae.training)
