"""The three architectures reel imports, as the ordered list of their weighted
layers, named after the PyTorch modules of the original code:

- SRVGGNetCompact (basicsr/archs/srvgg_arch.py, Real-ESRGAN's video model):
  body.0 conv, body.1 PReLU, then num_conv × (conv, PReLU), then the last conv
  to num_out_ch·upscale² channels; pixel-shuffle, plus a nearest-upsampled input.
- RRDBNet (basicsr/archs/rrdbnet_arch.py, Real-ESRGAN x4plus): conv_first,
  body.N.rdb{1,2,3}.conv{1..5}, conv_body, conv_up1, conv_up2, conv_hr, conv_last.
- IFNet of RIFE HDv3 (train_log/IFNet_HDv3.py): block0..2 and the training-only
  teacher block_tea, each conv0 / convblock0..3 / conv1 / conv2.

The importer checks each source checkpoint against these lists, so a weight
can never land under the wrong name.
"""


def srvgg_layers(cfg):
    """[(kind, key, shape)] in graph order; kind is "conv" or "prelu"."""
    nf, layers = cfg["num_feat"], []
    layers.append(("conv", "body.0", (nf, cfg["num_in_ch"], 3, 3)))
    layers.append(("prelu", "body.1", (nf,)))
    for i in range(cfg["num_conv"]):
        layers.append(("conv", f"body.{2 + 2 * i}", (nf, nf, 3, 3)))
        layers.append(("prelu", f"body.{3 + 2 * i}", (nf,)))
    out = cfg["num_out_ch"] * cfg["upscale"] ** 2
    layers.append(("conv", f"body.{2 + 2 * cfg['num_conv']}", (out, nf, 3, 3)))
    return layers


def rrdb_layers(cfg):
    """[(kind, key, shape, leaky)] in graph order; leaky: followed by LeakyReLU(0.2)."""
    nf, gc, layers = cfg["num_feat"], cfg["num_grow_ch"], []
    layers.append(("conv", "conv_first", (nf, cfg["num_in_ch"], 3, 3), False))
    for b in range(cfg["num_block"]):
        for r in (1, 2, 3):
            for c in range(1, 6):
                out = nf if c == 5 else gc
                layers.append(("conv", f"body.{b}.rdb{r}.conv{c}", (out, nf + (c - 1) * gc, 3, 3), c < 5))
    layers.append(("conv", "conv_body", (nf, nf, 3, 3), False))
    layers.append(("conv", "conv_up1", (nf, nf, 3, 3), True))
    layers.append(("conv", "conv_up2", (nf, nf, 3, 3), True))
    layers.append(("conv", "conv_hr", (nf, nf, 3, 3), True))
    layers.append(("conv", "conv_last", (cfg["num_out_ch"], nf, 3, 3), False))
    return layers


def ifnet_shapes(cfg):
    """{key: shape} of IFNet HDv3's state dict (without the "module." prefix)."""
    c, shapes = cfg["block_channels"], {}

    def block(name, cin):
        def conv(prefix, o, i, k):
            shapes[f"{prefix}.0.weight"] = (o, i, k, k)
            shapes[f"{prefix}.0.bias"] = (o,)
            shapes[f"{prefix}.1.weight"] = (o,)
        conv(f"{name}.conv0.0", c // 2, cin, 3)
        conv(f"{name}.conv0.1", c, c // 2, 3)
        for k in range(4):
            conv(f"{name}.convblock{k}.0", c, c, 3)
            conv(f"{name}.convblock{k}.1", c, c, 3)
        for head, out in (("conv1", 4), ("conv2", 1)):
            # ConvTranspose2d weights are [in, out, kh, kw].
            shapes[f"{name}.{head}.0.weight"] = (c, c // 2, 4, 4)
            shapes[f"{name}.{head}.0.bias"] = (c // 2,)
            shapes[f"{name}.{head}.1.weight"] = (c // 2,)
            shapes[f"{name}.{head}.2.weight"] = (c // 2, out, 4, 4)
            shapes[f"{name}.{head}.2.bias"] = (out,)

    for i in range(cfg["num_blocks"]):
        block(f"block{i}", cfg["block_in_channels"])
    if cfg.get("teacher_in_channels"):
        block("block_tea", cfg["teacher_in_channels"])
    return shapes
