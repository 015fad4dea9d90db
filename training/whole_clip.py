"""diffusers' AutoencoderKLWan on a whole clip at once, computing what its chunked loop computes.

`AutoencoderKLWan._encode` feeds the encoder one frame and then chunks of four, and `_decode` feeds the decoder one
latent frame at a time, each call carrying the last two frames of every causal convolution in a cache. That loop
is how Wan streams long videos through bounded memory; for training on 17-frame clips it only multiplies the calls
(5 encoder and 5 decoder passes per clip, each with its cache copies). Every layer but the temporal resamplers is
already causal over a whole sequence (zero-padded by two frames in front, as the empty cache is), so here the
resamplers alone are rewritten for whole sequences:

- `downsample3d` keeps frame 0 as it is and runs its stride-2 temporal convolution over the whole sequence
  (the chunked loop passes frame 0 through, then convolves [previous last frame, four new frames]);
- `upsample3d` keeps frame 0 single and doubles the rest through its causal temporal convolution (the chunked loop
  marks frame 0 "Rep" and starts the convolution's cache at zeros after it).

`encode(vae, x)` and `decode(vae, z)` return what `vae._encode(x)` and `vae.decode(z).sample` return, for clips of
4k+1 frames (training/tests: values and gradients, in the committed layout and in Wan 2.2's residual one; on the
committed model in bf16 the two round trips stand 62 dB apart, docs/models.md "Session 13").
`compile_passes()` has them run through torch.compile from then on (the trainers' `--compile`); `channels_last(vae)`
lays the weights out as this CPU's convolutions run fastest (the trainers' `--channels-last`).
"""
from __future__ import annotations

import torch
from diffusers.models.autoencoders.autoencoder_kl_wan import (
    WanResample, WanResidualDownBlock, WanResidualUpBlock, WanUpBlock, patchify, unpatchify)


def _resample(m: WanResample, x: torch.Tensor) -> torch.Tensor:
    b, c, t, h, w = x.shape
    if m.mode == "upsample3d" and t > 1:
        rest = m.time_conv(x[:, :, 1:])                       # (b, 2c, t-1, h, w): each frame's two successors
        rest = rest.reshape(b, 2, c, t - 1, h, w)
        rest = torch.stack((rest[:, 0], rest[:, 1]), 3).reshape(b, c, 2 * (t - 1), h, w)
        x = torch.cat([x[:, :, :1], rest], 2)
    t = x.shape[2]
    y = m.resample(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
    x = y.view(b, t, y.size(1), y.size(2), y.size(3)).permute(0, 2, 1, 3, 4)
    if m.mode == "downsample3d" and t > 1:
        x = torch.cat([x[:, :, :1], m.time_conv(x)], 2)
    return x


def _down_block(block, x: torch.Tensor) -> torch.Tensor:
    if isinstance(block, WanResample):
        return _resample(block, x)
    if isinstance(block, WanResidualDownBlock):              # Wan 2.2: a parameter-free shortcut around the stage
        shortcut = block.avg_shortcut(x)
        for resnet in block.resnets:
            x = resnet(x)
        if block.downsampler is not None:
            x = _resample(block.downsampler, x)
        return x + shortcut
    return block(x)                                           # residual and attention blocks: causal already


def _up_block(block, x: torch.Tensor) -> torch.Tensor:
    shortcut = block.avg_shortcut(x, first_chunk=True) \
        if isinstance(block, WanResidualUpBlock) and block.avg_shortcut is not None else None
    for resnet in block.resnets:
        x = resnet(x)
    if isinstance(block, WanUpBlock) and block.upsamplers is not None:
        x = _resample(block.upsamplers[0], x)
    elif isinstance(block, WanResidualUpBlock) and block.upsampler is not None:
        x = _resample(block.upsampler, x)
    return x if shortcut is None else x + shortcut


def _encode(vae, x: torch.Tensor) -> torch.Tensor:
    if vae.config.patch_size is not None:
        x = patchify(x, patch_size=vae.config.patch_size)
    enc = vae.encoder
    x = enc.conv_in(x)
    for block in enc.down_blocks:
        x = _down_block(block, x)
    x = enc.mid_block(x)
    x = enc.conv_out(enc.nonlinearity(enc.norm_out(x)))
    return vae.quant_conv(x)


def _decode(vae, z: torch.Tensor) -> torch.Tensor:
    dec = vae.decoder
    x = dec.mid_block(dec.conv_in(vae.post_quant_conv(z)))
    for block in dec.up_blocks:
        x = _up_block(block, x)
    x = dec.conv_out(dec.nonlinearity(dec.norm_out(x)))
    if vae.config.patch_size is not None:
        x = unpatchify(x, patch_size=vae.config.patch_size)
    return torch.clamp(x, min=-1.0, max=1.0)


_passes = (_encode, _decode)     # what `encode` and `decode` run: these, or their torch.compile'd versions


def compile_passes(on: bool = True):
    """From now on (in this process) run `encode` and `decode` compiled by torch.compile, or eager again with False.
    The first call of each clip shape (and grad mode) compiles, about a minute for the committed autoencoder on
    this CPU; after it a training step costs 0.32 s per clip instead of 0.38 (docs/benchmarks.md, "Training").
    Worth it for long runs on whole clips; each further size (run_all's windows and crops) compiles again."""
    global _passes
    # static shapes: inductor fails on these convolutions' symbolic sizes (torch 2.13), and a run has few sizes
    _passes = (torch.compile(_encode, dynamic=False), torch.compile(_decode, dynamic=False)) if on \
        else (_encode, _decode)


def channels_last(vae) -> None:
    """Lay out the autoencoder's convolution weights channels-last (3D and 2D ones), in place; `encode` and `decode`
    then lay out their inputs to match. oneDNN's convolutions run a little faster so on an Intel CPU (an fp32 step of
    the whole committed autoencoder on 4 clips: ~4% compiled, ~10% eager; docs/benchmarks.md "Training"), with the
    same values up to rounding. Saved weights load back in the default layout."""
    for p in vae.parameters():
        if p.dim() in (4, 5):
            p.data = p.data.contiguous(memory_format=torch.channels_last if p.dim() == 4 else torch.channels_last_3d)


def _laid_out_as(conv, x: torch.Tensor) -> torch.Tensor:
    """x channels-last where `conv`'s weight is (`channels_last`), else as it is."""
    w = conv.weight
    if w.dim() == 5 and not w.is_contiguous() and w.is_contiguous(memory_format=torch.channels_last_3d):
        return x.contiguous(memory_format=torch.channels_last_3d)
    return x


def encode(vae, x: torch.Tensor) -> torch.Tensor:
    """The posterior's parameters (mean and log-variance stacked on channels), as `vae._encode(x)`."""
    if (x.shape[2] - 1) % 4:
        raise ValueError(f"a clip of {x.shape[2]} frames: the autoencoder takes 4k+1")
    return _passes[0](vae, _laid_out_as(vae.encoder.conv_in, x))


def decode(vae, z: torch.Tensor) -> torch.Tensor:
    """Clips in [-1, 1] from latents, as `vae.decode(z).sample`."""
    return _passes[1](vae, _laid_out_as(vae.decoder.conv_in, z))
