"""Resumable trainers for the autoencoder and the transformer; one optimisation step per `step()` call.

Each trainer owns its model, optimiser, EMA, RNG and checkpoint file, so a driver can run them in turn or
interleaved (the decoder keeps improving while the transformer trains on the frozen encoder's latents).
"""
from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from .common import LossLog, lr_at, load_checkpoint, save_checkpoint
from .losses import kl, outlier_penalty, psnr
from . import whole_clip


def frames_to_tensor(frames, device) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 (numpy or torch) -> (B, 3, T, H, W) float in [-1, 1]."""
    x = frames if isinstance(frames, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(frames))
    x = x.to(device, non_blocking=True)
    return x.permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)


@torch.no_grad()
def encode_latents(vae, frames, device, batch=64, cpu_bf16=False) -> torch.Tensor:
    """Posterior means, bf16 autocast on a GPU (and on a CPU with --cpu-bf16: ~3x faster there)."""
    out = []
    for i in range(0, len(frames), batch):
        x = frames_to_tensor(frames[i:i + batch], device)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=device == "cuda" or cpu_bf16):
            h = vae._encode(x)
        out.append(h.float().chunk(2, dim=1)[0])
    return torch.cat(out)


def draw_timesteps(n: int, gen: torch.Generator, shift: float = 1.0) -> torch.Tensor:
    """Flow-matching times in (0, 1): logit-normal(0, 1) as Movie Gen, optionally shifted toward noise,
    t' = s t / (1 + (s - 1) t), as the sampler's flow shift is (SD3's resolution shift). The layout and motion
    of a clip are decided at t > 0.8, which logit-normal(0, 1) draws 8% of the time (shift 3: 39%)."""
    t = torch.sigmoid(torch.randn(n, generator=gen))
    return shift * t / (1 + (shift - 1) * t)


@torch.no_grad()
def update_average(average: torch.nn.Module, model: torch.nn.Module, decay: float):
    """One step of an exponential moving average of `model`'s weights kept in `average` (a copy of it)."""
    torch._foreach_lerp_(list(average.parameters()), [p.detach() for p in model.parameters()], 1 - decay)


class Trainer:
    name = "trainer"

    def __init__(self, model, run_dir: Path, lr: float, total_steps: int, seed: int, device: str,
                 params=None, ema: float = 0.0, amp: bool = True, cpu_amp: bool = False):
        self.model, self.run_dir, self.base_lr, self.total = model, Path(run_dir), lr, total_steps
        self.device = device
        self.params = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, betas=(0.9, 0.99), weight_decay=0.01)
        self.ema = copy.deepcopy(model).eval().requires_grad_(False) if ema > 0 else None
        self.ema_decay = ema
        self.step_n = 0
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        # bf16 autocast: always on a GPU; on a CPU only when asked (oneDNN's bf16 convolutions on AVX512-BF16)
        self.amp = amp and (device == "cuda" or cpu_amp)
        self.ckpt = self.run_dir / f"{self.name}.pt"
        self.seconds = 0.0

    # ---- checkpoints
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step_n,
                "total": self.total, "gen": self.gen.get_state(), "seconds": self.seconds,
                "ema": self.ema.state_dict() if self.ema is not None else None}

    def save(self):
        save_checkpoint(self.ckpt, self.state())

    def resume(self) -> bool:
        st = load_checkpoint(self.ckpt)
        if st is None:
            return False
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.step_n, self.total, self.seconds = st["step"], st["total"], st.get("seconds", 0.0)
        self.gen.set_state(st["gen"])
        if self.ema is not None and st.get("ema") is not None:
            self.ema.load_state_dict(st["ema"])
        return True

    def done(self) -> bool:
        return self.step_n >= self.total

    def _apply(self, loss: torch.Tensor):
        for g in self.opt.param_groups:
            # short runs (CPU fine-tuning) warm up over a tenth of their steps, long ones over 200
            g["lr"] = lr_at(self.step_n, self.total, self.base_lr, warmup=min(200, max(1, self.total // 10)))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        if self.ema is not None:
            update_average(self.ema, self.model, min(self.ema_decay, (1 + self.step_n) / (10 + self.step_n)))
        self.step_n += 1

    def _idx(self, n: int, batch: int) -> np.ndarray:
        return torch.randint(0, n, (batch,), generator=self.gen).numpy()


def clip_psnr_mse(rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The clips' MSE, each clip's weighted by the batch's mean over its own (held constant): its value is the
    pooled MSE's, its gradient the batch's mean MSE times that of the mean of the clips' log MSE (their PSNR)."""
    per_clip = (rec - x).pow(2).flatten(1).mean(1)
    return (per_clip * (per_clip.mean() / per_clip.clamp_min(1e-10)).detach()).mean()


def autoencoder_loss(vae, x: torch.Tensor, *, train_encoder: bool, kl_weight: float = 1e-4, opl_weight: float = 0.0,
                     latents: torch.Tensor | None = None, amp: bool = False, l1_weight: float = 1.0,
                     sample: bool = True, clip_psnr: bool = False) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The autoencoder's objective on clips x (B, 3, T, H, W) in [-1, 1]: L1 + MSE of the reconstruction, plus
    a small KL and the optional outlier penalty when the encoder trains (its posterior is sampled, or with
    `sample` False read at its mean, as in use); l1_weight 0 leaves the MSE alone, which is what PSNR measures.
    With the encoder frozen the decoder reads the posterior means (or `latents`, when given). Returns (loss, the
    reconstruction in fp32, its parts; parts["mean"] holds the posterior means when the encoder trains).
    The clips go through whole (`whole_clip`: what diffusers' chunked loop computes, in one pass per half).
    `clip_psnr` weighs each clip's MSE by the batch's mean MSE over its own (held constant): the gradient of the
    mean of the clips' log MSE, i.e. of their mean PSNR, which is what the benchmark averages, in the MSE's scale;
    plain MSE lets the clips with the largest errors lead."""
    mean = None
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        if train_encoder:
            mean, logvar = whole_clip.encode(vae, x).chunk(2, dim=1)
            logvar = logvar.clamp(-30, 20)
            z = mean + torch.randn_like(mean) * (0.5 * logvar).exp() if sample else mean
            lk = kl(mean.float(), logvar.float())
            lo = outlier_penalty(mean.float()) if opl_weight > 0 else torch.zeros((), device=x.device)
        else:
            if latents is None:
                with torch.no_grad():
                    latents = whole_clip.encode(vae, x).chunk(2, dim=1)[0]
            z, lk, lo = latents, torch.zeros((), device=x.device), torch.zeros((), device=x.device)
        rec = whole_clip.decode(vae, z).float()
    l1, l2 = F.l1_loss(rec, x), clip_psnr_mse(rec, x) if clip_psnr else F.mse_loss(rec, x)
    return l1_weight * l1 + l2 + kl_weight * lk + opl_weight * lo, rec, {"l1": l1, "kl": lk, "opl": lo, "mean": mean}


class VAETrainer(Trainer):
    """Reconstruction (L1 + MSE) + small KL + optional outlier penalty. With `latents` given, the encoder is
    frozen and only the decoder trains, on those fixed latents. With `frozen_encoder`, only the decoder trains
    too, on latents (posterior means) the frozen encoder computes for each window and crop as it is drawn:
    no latents of the whole data set are needed, which is what makes decoder fine-tuning affordable on a CPU."""
    name = "vae"

    def __init__(self, vae, frames: np.ndarray, run_dir, *, lr=4e-4, total_steps=1000, batch=16, seed=0,
                 device="cpu", kl_weight=1e-4, opl_weight=0.1, latents: torch.Tensor | None = None,
                 window: int = 0, crop: int = 0, whole_fraction: float = 0.0, frozen_encoder: bool = False,
                 cpu_amp: bool = False, ema: float = 0.0, l1_weight: float = 1.0):
        self.decoder_only = latents is not None or frozen_encoder
        self.online = frozen_encoder and latents is None
        if self.decoder_only:
            self.name = "vae_decoder"
            params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
        else:
            params = None
        # ema: an average of the weights to export; small CPU batches are noisy, and a continuation of a converged
        # decoder loses PSNR at every step size tried while its average gains (session 8)
        super().__init__(vae, run_dir, lr, total_steps, seed, device, params=params, cpu_amp=cpu_amp, ema=ema)
        self.frames, self.batch, self.latents = frames, batch, latents
        self.kl_weight, self.opl_weight, self.l1_weight = kl_weight, opl_weight, l1_weight
        # cheap 4k+1-frame windows and 8-aligned crops first; the last `whole_fraction` of the steps on whole
        # clips, since a crop-only autoencoder reconstructs whole 17-frame clips badly (later frames drift)
        self.window, self.crop, self.whole_fraction = window, crop, whole_fraction

    def step(self) -> dict:
        t0 = time.time()
        idx = np.sort(self._idx(len(self.frames), self.batch))
        sel = torch.from_numpy(idx).to(self.frames.device) if isinstance(self.frames, torch.Tensor) else idx
        x = frames_to_tensor(self.frames[sel], self.device)
        flip = (self.online or not self.decoder_only) and bool(torch.randint(0, 2, (1,), generator=self.gen))
        if flip:                                  # mirror: the autoencoder needs no captions
            x = x.flip(-1)
        parts = (self.online or not self.decoder_only) and self.step_n < self.total * (1 - self.whole_fraction)
        if self.window and parts:
            t0w = int(torch.randint(0, x.shape[2] - self.window + 1, (1,), generator=self.gen))
            x = x[:, :, t0w:t0w + self.window]
        if self.crop and parts:
            cy, cx = (int(torch.randint(0, (n - self.crop) // 8 + 1, (1,), generator=self.gen)) * 8
                      for n in x.shape[-2:])
            x = x[..., cy:cy + self.crop, cx:cx + self.crop]
        fixed = None if self.online or not self.decoder_only else \
            self.latents[torch.from_numpy(idx).to(self.latents.device)].float()
        loss, rec, parts = autoencoder_loss(self.model, x, train_encoder=not self.decoder_only, kl_weight=self.kl_weight,
                                            opl_weight=self.opl_weight, latents=fixed, amp=self.amp,
                                            l1_weight=self.l1_weight)
        self._apply(loss)
        self.seconds += time.time() - t0
        return {"loss": loss.item(), "l1": parts["l1"].item(), "psnr": psnr(rec.detach(), x).mean().item(),
                "kl": parts["kl"].item(), "opl": parts["opl"].item()}


class DiTTrainer(Trainer):
    """Flow matching as Movie Gen: t ~ logit-normal, x_t = (1-t) x0 + t eps, target velocity eps - x0
    (diffusers' FlowMatchEuler convention, timestep = 1000 t). Caption dropout for classifier-free guidance."""
    name = "dit"

    def __init__(self, dit, latents: torch.Tensor, text: torch.Tensor, null_text: torch.Tensor, run_dir, *,
                 lr=3e-4, total_steps=1000, batch=64, seed=0, device="cpu", caption_dropout=0.1, ema=0.999,
                 cpu_amp: bool = False, t_shift: float = 1.0):
        # fp32 on a GPU (as the committed model was trained); bf16 autocast on a CPU when asked (3x faster there)
        super().__init__(dit, run_dir, lr, total_steps, seed, device, ema=ema, amp=cpu_amp, cpu_amp=cpu_amp)
        self.dgen = torch.Generator(device=device).manual_seed(seed + 7)
        self.latents, self.text, self.null = latents, text, null_text      # (N,C,T,h,w) (N,K,L,384) (L,384)
        self.batch, self.drop = batch, caption_dropout
        self.t_shift = t_shift

    def state(self) -> dict:
        return {**super().state(), "dgen": self.dgen.get_state()}

    def resume(self) -> bool:
        ok = super().resume()
        if ok:
            st = load_checkpoint(self.ckpt)
            if "dgen" in st:
                self.dgen.set_state(st["dgen"])
        return ok

    def step(self) -> dict:
        t0 = time.time()
        n, k = self.text.shape[0], self.text.shape[1]
        idx = torch.from_numpy(self._idx(n, self.batch))
        which = torch.randint(0, k, (self.batch,), generator=self.gen)
        drop = torch.rand(self.batch, generator=self.gen) < self.drop
        dev = self.latents.device
        x0 = self.latents[idx.to(dev)].float()
        ctx = self.text[idx.to(self.text.device), which.to(self.text.device)].float()
        ctx = torch.where(drop.to(ctx.device)[:, None, None], self.null.float()[None], ctx)
        t = draw_timesteps(self.batch, self.gen, self.t_shift).to(dev)
        eps = torch.randn(x0.shape, generator=self.dgen, device=dev)
        tt = t.view(-1, 1, 1, 1, 1)
        xt = (1 - tt) * x0 + tt * eps
        # on a CPU the math attention is faster than the flash kernel: its backward cost 31% of a step at 80
        # tokens (batch 256: 14.2 -> 11.8 ms per clip-step, 2 threads, bf16); elsewhere torch chooses
        attention = sdpa_kernel(SDPBackend.MATH) if dev.type == "cpu" else contextlib.nullcontext()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.amp), attention:
            v = self.model(hidden_states=xt, timestep=t * 1000, encoder_hidden_states=ctx, return_dict=False)[0]
        loss = F.mse_loss(v.float(), eps - x0)
        self._apply(loss)
        self.seconds += time.time() - t0
        return {"loss": loss.item()}
