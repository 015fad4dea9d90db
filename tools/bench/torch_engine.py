#!/usr/bin/env python3
"""PyTorch's side of `reel-bench engine`: the same shapes, fp32, on the same
number of threads. Prints "torch <version> threads <n>", then one
"<case> <wall seconds> <cpu seconds>" line per case (the median run), flushed
as each finishes. CPU seconds (all threads) show how much of the wall time the
cores were really ours when other jobs share the machine.

    python3 tools/bench/torch_engine.py --threads 2 [--cases gemm,attn1k,...] [--quick]
    python3 tools/bench/torch_engine.py --threads 2 --serve   # reads case names on stdin

With --serve (what reel-bench uses) it builds every case, prints the version
line, then answers each case name read from stdin with its result line, so the
benchmark can alternate reel and PyTorch case by case under the same load.
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, min_time, max_runs):
    fn()  # warm-up
    runs = []
    start = time.perf_counter()
    while len(runs) < max_runs and (len(runs) < 3 or time.perf_counter() - start < min_time):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    runs.sort()
    return runs[len(runs) // 2]  # the median run: (wall, cpu) seconds


def cases(quick):
    # Keep these shapes identical to Sources/Bench/EngineBench.swift.
    out = {}
    g = torch.randn(2048, 2048), torch.randn(2048, 2048)
    out["gemm"] = lambda: torch.mm(*g)
    gb = g[0].bfloat16(), g[1].bfloat16()
    out["gemm_bf16"] = lambda: torch.mm(*gb)
    for name, tokens, heads in [("attn1k", 1024, 12), ("attn4k", 4096, 12), ("attn16k", 16384, 2)]:
        if quick and tokens > 4096:
            continue
        q, k, v = (torch.randn(1, heads, tokens, 128) for _ in range(3))
        out[name] = (lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v))
    x, w, b = torch.randn(1, 64, 270, 480), torch.randn(64, 64, 3, 3) * 0.05, torch.randn(64)
    out["conv2d"] = lambda: F.conv2d(x, w, b, padding=1)
    # channels_last: oneDNN's own layout, the fair reference for reel's NHWC kernel
    xc, wc = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    out["conv2d_nhwc"] = lambda: F.conv2d(xc, wc, b, padding=1)
    xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
    out["conv2d_bf16"] = lambda: F.conv2d(xb, wb, bb, padding=1)
    x3, w3, b3 = torch.randn(1, 64, 5, 68, 120), torch.randn(64, 64, 3, 3, 3) * 0.02, torch.randn(64)
    out["conv3d"] = lambda: F.conv3d(F.pad(x3, (1, 1, 1, 1, 2, 0)), w3, b3)

    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed, WanTransformerBlock
    dim, heads, ffn = 1536, 12, 8960
    block = WanTransformerBlock(dim, ffn, heads, qk_norm="rms_norm_across_heads", cross_attn_norm=True, eps=1e-6).eval()
    rope = WanRotaryPosEmbed(dim // heads, (1, 2, 2), 1024)
    rotary = rope(torch.zeros(1, 16, 5, 32, 32))  # 5 x 16 x 16 = 1280 tokens
    hs, ctx, temb = torch.randn(1, 1280, dim), torch.randn(1, 512, dim), torch.randn(1, 6, dim) * 0.1
    out["wan_block"] = lambda: block(hs, ctx, temb, rotary)
    # The bf16 reference: the whole block in bf16, as diffusers runs Wan.
    import copy
    block16 = copy.deepcopy(block).to(torch.bfloat16)
    hs16, ctx16, temb16 = hs.bfloat16(), ctx.bfloat16(), temb.bfloat16()
    out["wan_block_bf16"] = lambda: block16(hs16, ctx16, temb16, rotary)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--max-runs", type=int, default=10)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    wanted = set(filter(None, args.cases.split(",")))
    with torch.inference_mode():
        table = cases(args.quick)
        print(f"torch {torch.__version__} threads {torch.get_num_threads()}", flush=True)
        if args.serve:
            for line in sys.stdin:
                name = line.strip()
                if name in table:
                    wall, cpu = timed(table[name], args.min_time, args.max_runs)
                    print(f"{name} {wall:.6f} {cpu:.6f}", flush=True)
                else:
                    print(f"{name} n/a", flush=True)
            return
        for name, fn in table.items():
            if wanted and name not in wanted:
                continue
            wall, cpu = timed(fn, args.min_time, args.max_runs)
            print(f"{name} {wall:.6f} {cpu:.6f}", flush=True)


if __name__ == "__main__":
    main()
