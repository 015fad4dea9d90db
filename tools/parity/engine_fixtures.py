#!/usr/bin/env python3
"""Writes the engine's parity fixtures: small inputs and PyTorch's outputs for
every op and for whole blocks, as safetensors under Tests/EngineTests/Fixtures.

    python3 tools/parity/engine_fixtures.py   # torch CPU, diffusers

The Swift tests (Tests/EngineTests) load these with reel's own safetensors
reader and compare; they never need torch. Re-run after changing a case and
commit the files. Everything is seeded, so re-running reproduces the files.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "EngineTests", "Fixtures")

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)


def rnd(*shape, scale=1.0):
    return torch.randn(*shape) * scale


def ops():
    t = {}

    def put(name, **tensors):
        for k, v in tensors.items():
            t[f"{name}.{k}"] = v.float().clone().contiguous()

    # GEMM
    a, b = rnd(3, 17, 33), rnd(33, 29)
    put("matmul", a=a, b=b, out=a @ b)
    a, b = rnd(2, 3, 17, 33), rnd(2, 3, 33, 29)
    put("bmm", a=a, b=b, out=a @ b)
    a, b = rnd(2, 1, 9, 16), rnd(3, 16, 5)
    put("matmul_broadcast", a=a, b=b, out=a @ b)
    x, w, bias = rnd(2, 7, 48), rnd(40, 48, scale=0.2), rnd(40)
    put("linear", x=x, w=w, b=bias, out=F.linear(x, w, bias))
    x, w = rnd(300, 160), rnd(200, 160, scale=0.1)
    put("linear_big", x=x, w=w, out=F.gelu(F.linear(x, w), approximate="tanh"))

    # convolution
    x, w, bias = rnd(2, 6, 37), rnd(8, 3, 5, scale=0.3), rnd(8)
    put("conv1d", x=x, w=w, b=bias, out=F.conv1d(x, w, bias, stride=2, padding=2, groups=2))
    x, w = rnd(1, 4, 21), rnd(5, 4, 3, scale=0.3)
    put("conv1d_causal", x=x, w=w, out=F.conv1d(F.pad(x, (4, 0)), w, dilation=2))
    x, w, bias = rnd(1, 6, 19, 23), rnd(8, 6, 3, 3, scale=0.2), rnd(8)
    put("conv2d", x=x, w=w, b=bias, out=F.conv2d(x, w, bias, padding=1))
    put("conv2d_replicate", x=x, w=w, b=bias, out=F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), w, bias))
    put("conv2d_reflect", x=x, w=w, b=bias, out=F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w, bias))
    w2 = rnd(8, 3, 3, 3, scale=0.2)
    put("conv2d_strided", x=x, w=w2, b=bias, out=F.conv2d(x, w2, bias, stride=2, padding=2, dilation=2, groups=2))
    w1 = rnd(10, 6, 1, 1, scale=0.3)
    b1 = rnd(10)
    put("conv2d_1x1", x=x, w=w1, b=b1, out=F.conv2d(x, w1, b1))
    x, w, bias = rnd(1, 4, 5, 9, 10), rnd(6, 4, 3, 3, 3, scale=0.15), rnd(6)
    put("conv3d_causal", x=x, w=w, b=bias, out=F.conv3d(F.pad(x, (1, 1, 1, 1, 2, 0)), w, bias))
    put("conv3d_strided", x=x, w=w, b=bias, out=F.conv3d(x, w, bias, stride=(1, 2, 2), padding=1))
    x, w, bias = rnd(1, 6, 9, 11), rnd(6, 4, 4, 4, scale=0.2), rnd(4)
    put("conv_transpose2d", x=x, w=w, b=bias, out=F.conv_transpose2d(x, w, bias, stride=2, padding=1))
    w = rnd(6, 2, 3, 3, scale=0.2)
    bias = rnd(4)
    put("conv_transpose2d_groups", x=x, w=w, b=bias,
        out=F.conv_transpose2d(x, w, bias, stride=2, padding=1, output_padding=1, groups=2))

    # resampling
    x = rnd(1, 3, 11, 13)
    for mode in ["nearest", "nearest-exact"]:
        key = mode.replace("-", "_")
        put(f"resize_{key}_up", x=x, out=F.interpolate(x, size=(17, 29), mode=mode))
        put(f"resize_{key}_down", x=x, out=F.interpolate(x, size=(7, 5), mode=mode))
    put("resize_nearest_x2", x=x, out=F.interpolate(x, scale_factor=2, mode="nearest"))
    for mode in ["bilinear", "bicubic"]:
        for align in [False, True]:
            key = f"resize_{mode}_{'ac' if align else 'hc'}"
            put(key + "_up", x=x, out=F.interpolate(x, size=(17, 29), mode=mode, align_corners=align))
            put(key + "_down", x=x, out=F.interpolate(x, size=(7, 5), mode=mode, align_corners=align))
    put("resize_bilinear_x4", x=x, out=F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False))
    x = rnd(2, 3, 10, 12)
    grid = torch.rand(2, 8, 9, 2) * 2.4 - 1.2
    for pad in ["border", "zeros"]:
        for align in [False, True]:
            put(f"grid_sample_{pad}_{'ac' if align else 'hc'}", x=x, grid=grid,
                out=F.grid_sample(x, grid, mode="bilinear", padding_mode=pad, align_corners=align))
    x = rnd(1, 8, 5, 6)
    put("pixel_shuffle", x=x, out=F.pixel_shuffle(x, 2))
    x = rnd(1, 3, 6, 8)
    put("pixel_unshuffle", x=x, out=F.pixel_unshuffle(x, 2))

    # attention
    q, k, v = rnd(2, 2, 40, 16), rnd(2, 2, 90, 16), rnd(2, 2, 90, 24)
    put("sdpa", q=q, k=k, v=v, out=F.scaled_dot_product_attention(q, k, v))
    keep = torch.rand(2, 1, 40, 90) > 0.3
    keep[..., 0] = True  # no fully masked rows (torch gives NaN there)
    put("sdpa_bool", q=q, k=k, v=v, mask=keep.float(), out=F.scaled_dot_product_attention(q, k, v, attn_mask=keep))
    add = rnd(40, 90)
    put("sdpa_additive", q=q, k=k, v=v, mask=add, out=F.scaled_dot_product_attention(q, k, v, attn_mask=add))
    lengths = torch.tensor([61, 90])
    pad_mask = (torch.arange(90)[None, :] < lengths[:, None])[:, None, None, :]
    put("sdpa_keypad", q=q, k=k, v=v, lengths=lengths.float(),
        out=F.scaled_dot_product_attention(q, k, v, attn_mask=pad_mask))
    qc = rnd(1, 2, 150, 16)
    put("sdpa_causal", q=qc, out=F.scaled_dot_product_attention(qc, qc, qc, is_causal=True))
    q, k, v = rnd(1, 2, 200, 32), rnd(1, 2, 700, 32), rnd(1, 2, 700, 32)
    put("sdpa_long", q=q, k=k, v=v, out=F.scaled_dot_product_attention(q, k, v, scale=0.2))

    # normalisation and activations
    x, w, bias = rnd(4, 9, 64, scale=3) + 1.5, rnd(64), rnd(64)
    put("layer_norm", x=x, w=w, b=bias, out=F.layer_norm(x, (64,), w, bias, eps=1e-5))
    put("layer_norm_plain", x=x, out=F.layer_norm(x, (64,), eps=1e-6))
    put("rms_norm", x=x, w=w, out=F.rms_norm(x, (64,), w, eps=1e-6))
    x, w, bias = rnd(2, 8, 5, 7, scale=2) + 0.5, rnd(8), rnd(8)
    put("group_norm", x=x, w=w, b=bias, out=F.group_norm(x, 4, w, bias, eps=1e-5))
    x = torch.linspace(-9, 9, 1201).reshape(1, 1, 1201)
    put("gelu", x=x, out=F.gelu(x))
    put("gelu_tanh", x=x, out=F.gelu(x, approximate="tanh"))
    put("silu", x=x, out=F.silu(x))
    put("tanh", x=x, out=torch.tanh(x))
    put("sigmoid", x=x, out=torch.sigmoid(x))
    put("exp", x=x, out=torch.exp(x))
    x, alpha = rnd(2, 5, 4, 3), rnd(5, scale=0.3)
    put("prelu", x=x, w=alpha, out=F.prelu(x, alpha))
    x = rnd(3, 7, 11, scale=4)
    put("softmax_last", x=x, out=F.softmax(x, dim=-1))
    put("softmax_mid", x=x, out=F.softmax(x, dim=1))
    put("log_softmax", x=x, out=F.log_softmax(x, dim=-1))
    put("sum_mid", x=x, out=x.sum(dim=1))
    put("mean_last", x=x, out=x.mean(dim=-1))
    put("max_first", x=x, out=x.amax(dim=0))

    # broadcasting elementwise
    a, b = rnd(4, 1, 6), rnd(5, 1)
    put("broadcast", a=a, b=b, add=a + b, sub=a - b, mul=a * b, div=a / (b.abs() + 0.5))

    # Wan's 3-d RoPE tables and their application
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed
    rope = WanRotaryPosEmbed(attention_head_dim=32, patch_size=(1, 2, 2), max_seq_len=64)
    cos, sin = rope(torch.zeros(1, 16, 3, 8, 10))  # 3 frames, 4 x 5 patches
    x = rnd(1, 60, 2, 32)
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    c, s = cos[..., 0::2], sin[..., 1::2]
    o = torch.empty_like(x)
    o[..., 0::2] = x1 * c - x2 * s
    o[..., 1::2] = x1 * s + x2 * c
    put("wan_rope", cos=cos.reshape(60, 32), sin=sin.reshape(60, 32), x=x, out=o)

    # dtype conversion on load: the same values stored as F16 and BF16
    v = rnd(37, scale=10)
    t["dtype.f32"] = v
    t["dtype.f16"] = v.half()
    t["dtype.bf16"] = v.bfloat16()
    t["dtype.f16_as_f32"] = v.half().float()
    t["dtype.bf16_as_f32"] = v.bfloat16().float()

    # 3x3 convolutions that take the Winograd path (channels in 16s, sizes not multiples of 4 so the edge
    # tiles are partial), and the NHWC form with a fused PReLU (3 input channels, padded to 16 by the caller)
    x, w, bias = rnd(1, 32, 37, 45), rnd(48, 32, 3, 3, scale=0.1), rnd(48)
    put("conv2d_winograd", x=x, w=w, b=bias, out=F.conv2d(x, w, bias, padding=1))
    x, w, bias, slope = rnd(1, 3, 30, 41), rnd(16, 3, 3, 3, scale=0.3), rnd(16), rnd(16, scale=0.3)
    put("conv2d_winograd_prelu", x=x, w=w, b=bias, slope=slope, out=F.prelu(F.conv2d(x, w, bias, padding=1), slope))
    x, w, bias = rnd(1, 16, 5, 17, 19), rnd(32, 16, 3, 3, 3, scale=0.1), rnd(32)
    put("conv3d_winograd", x=x, w=w, b=bias, out=F.conv3d(F.pad(x, (1, 1, 1, 1, 2, 0)), w, bias))
    return t


def wan_block():
    """diffusers' WanTransformerBlock (Wan2.1 layout, cross_attn_norm as in T2V
    1.3B), weights rounded to bf16 and stored as BF16 so the load path is tested."""
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed, WanTransformerBlock
    torch.manual_seed(1)
    dim, heads, ffn = 64, 4, 160
    block = WanTransformerBlock(dim, ffn, heads, qk_norm="rms_norm_across_heads", cross_attn_norm=True, eps=1e-6)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_((torch.randn_like(p) * (0.5 if p.ndim == 1 else 1.0 / p.shape[-1] ** 0.5)).bfloat16().float())
        block.scale_shift_table.copy_(torch.randn(1, 6, dim).mul(0.1).bfloat16().float())
    rope = WanRotaryPosEmbed(attention_head_dim=dim // heads, patch_size=(1, 2, 2), max_seq_len=1024)
    frames, h, w = 2, 3, 4
    rotary = rope(torch.zeros(1, 16, frames, 2 * h, 2 * w))
    x = torch.randn(1, frames * h * w, dim)
    ctx = torch.randn(1, 10, dim)
    temb = torch.randn(1, 6, dim) * 0.3
    with torch.no_grad():
        out = block(x, ctx, temb, rotary)
    t = {f"block.{k}": v.detach().bfloat16() for k, v in block.state_dict().items()}
    t.update({"input.hidden_states": x, "input.encoder_hidden_states": ctx, "input.temb": temb,
              "output": out, "grid": torch.tensor([frames, h, w], dtype=torch.float32)})
    return {k: v.contiguous() for k, v in t.items()}


def causal_conv_stack():
    """Wan VAE-style causal 3-d stack: CausalConv3d -> channel RMS norm -> SiLU ->
    CausalConv3d (stride 1,2,2), plus a 1x1x1 shortcut on the strided path."""
    from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d, WanRMS_norm
    torch.manual_seed(2)
    c1 = WanCausalConv3d(4, 8, 3, padding=1)
    norm = WanRMS_norm(8, images=False)
    c2 = WanCausalConv3d(8, 8, 3, stride=(1, 2, 2), padding=1)
    with torch.no_grad():
        norm.gamma.copy_(torch.randn_like(norm.gamma) * 0.2 + 1)
        x = torch.randn(1, 4, 5, 10, 12)
        h1 = c1(x)
        h2 = F.silu(norm(h1))
        out = c2(h2)
    t = {"conv1.weight": c1.weight, "conv1.bias": c1.bias, "norm.gamma": norm.gamma,
         "conv2.weight": c2.weight, "conv2.bias": c2.bias, "input": x, "hidden": h1, "output": out}
    return {k: v.detach().contiguous().float() for k, v in t.items()}


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {"ops.safetensors": ops(), "wan_block.safetensors": wan_block(), "causal_conv3d.safetensors": causal_conv_stack()}
    for name, tensors in files.items():
        save_file(tensors, os.path.join(OUT, name), metadata={"generator": "tools/parity/engine_fixtures.py",
                                                              "torch": torch.__version__})
        size = os.path.getsize(os.path.join(OUT, name))
        print(f"{name}: {len(tensors)} tensors, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    sys.exit(main())
