"""The trainers' resumable steps, on tiny models (CPU, seconds).

    python3 -m unittest discover -s training/tests -t .
"""
import copy
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from training.models import TINY_DIT, TINY_VAE, make_dit, make_vae
from training.trainers import DiTTrainer, VAETrainer, draw_timesteps


def tensors(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class OnlineDecoderTests(unittest.TestCase):
    def test_frozen_encoder_trains_only_the_decoder_and_resumes(self):
        torch.manual_seed(0)
        frames = np.random.default_rng(0).integers(0, 256, (2, 9, 32, 32, 3), dtype=np.uint8)
        vae = make_vae(TINY_VAE)
        enc0, dec0 = tensors(vae.encoder), tensors(vae.decoder)
        with tempfile.TemporaryDirectory() as d:
            tr = VAETrainer(vae, frames, Path(d), lr=1e-3, total_steps=2, batch=1, frozen_encoder=True,
                            window=9, crop=16)
            for _ in range(2):
                m = tr.step()
                self.assertTrue(np.isfinite(m["loss"]) and np.isfinite(m["psnr"]))
            tr.save()
            for k, v in tensors(vae.encoder).items():
                self.assertTrue(torch.equal(v, enc0[k]), k)
            self.assertTrue(any(not torch.equal(v, dec0[k]) for k, v in tensors(vae.decoder).items()))
            again = VAETrainer(make_vae(TINY_VAE), frames, Path(d), total_steps=2, batch=1, frozen_encoder=True,
                               window=9, crop=16)
            self.assertTrue(again.resume())
            self.assertEqual(again.step_n, 2)
            self.assertTrue(again.done())
            for k, v in tensors(again.model.decoder).items():
                self.assertTrue(torch.equal(v, tensors(vae.decoder)[k]), k)

    def test_decoder_average_lags_the_weights_and_resumes(self):
        torch.manual_seed(0)
        frames = np.random.default_rng(1).integers(0, 256, (2, 9, 32, 32, 3), dtype=np.uint8)
        vae = make_vae(TINY_VAE)
        dec0 = tensors(vae.decoder)
        with tempfile.TemporaryDirectory() as d:
            tr = VAETrainer(vae, frames, Path(d), lr=1e-3, total_steps=3, batch=1, frozen_encoder=True,
                            window=9, crop=16, ema=0.9, l1_weight=0.0)
            for _ in range(3):
                tr.step()
            tr.save()
            live, avg = tensors(vae.decoder), tensors(tr.ema.decoder)
            moved = [k for k in dec0 if not torch.equal(live[k], dec0[k])]
            self.assertTrue(moved)
            for k in moved:     # the average sits strictly between where the weights started and where they are
                self.assertFalse(torch.equal(avg[k], live[k]), k)
                self.assertFalse(torch.equal(avg[k], dec0[k]), k)
            again = VAETrainer(make_vae(TINY_VAE), frames, Path(d), total_steps=3, batch=1, frozen_encoder=True,
                               window=9, crop=16, ema=0.9)
            self.assertTrue(again.resume())
            for k, v in tensors(again.ema.decoder).items():
                self.assertTrue(torch.equal(v, avg[k]), k)

    def test_l1_weight_zero_is_the_mse_alone(self):
        from training.trainers import autoencoder_loss
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval()
        x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
        with torch.no_grad():
            loss, rec, parts = autoencoder_loss(vae, x, train_encoder=False, l1_weight=0.0)
            both, _, _ = autoencoder_loss(vae, x, train_encoder=False)
        mse = torch.nn.functional.mse_loss(rec, x)
        self.assertAlmostEqual(loss.item(), mse.item(), places=6)
        self.assertAlmostEqual(both.item(), (mse + parts["l1"]).item(), places=6)


class WidenDecoderTests(unittest.TestCase):
    def test_a_widened_decoder_computes_the_same_and_its_copies_part(self):
        from training.widen import widen_decoder
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval()
        with torch.no_grad():   # every weight, gain and bias away from its initial value, the attention's too
            for p in vae.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        wide = widen_decoder(vae, 2).eval()
        self.assertEqual(wide.config.decoder_base_dim, 2 * TINY_VAE.base_dim)
        self.assertEqual(wide.decoder.conv_in.weight.shape[0], 2 * vae.decoder.conv_in.weight.shape[0])
        for k, v in tensors(vae.encoder).items():
            self.assertTrue(torch.equal(v, tensors(wide.encoder)[k]), k)
        x = torch.rand(1, 3, 9, 16, 16) * 2 - 1     # three latent frames: both temporal upsamplers' time_conv run
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mode()
            a, b = vae.decode(z).sample, wide.decode(z).sample
        self.assertLess((a - b).abs().max().item(), 1e-4)
        self.assertGreater(a.std().item(), 1e-2)
        # one optimiser step: the two copies of a channel get different gradients, so they part
        wide.train()
        opt = torch.optim.SGD(wide.decoder.parameters(), lr=0.1)
        torch.nn.functional.mse_loss(wide.decode(z).sample, x).backward()
        opt.step()
        w = wide.decoder.conv_in.weight.detach()
        c = w.shape[0] // 2
        self.assertFalse(torch.allclose(w[:c], w[c:]))


class WholeClipTests(unittest.TestCase):
    def test_whole_clips_compute_what_the_chunked_loop_does_and_train_alike(self):
        from diffusers import AutoencoderKLWan
        from training import whole_clip
        for residual in (False, True):         # the committed layout, and Wan 2.2's parameter-free shortcuts
            torch.manual_seed(0)
            vae = AutoencoderKLWan(base_dim=8, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
                                   temperal_downsample=[False, True, True], is_residual=residual)
            with torch.no_grad():              # every weight away from its initial value, so no layer is silent
                for p in vae.parameters():
                    p.add_(torch.randn_like(p) * 0.1)
            for frames in (1, 5, 17):
                x = torch.rand(2, 3, frames, 16, 24) * 2 - 1
                with torch.no_grad():
                    h, w = vae._encode(x), whole_clip.encode(vae, x)
                    self.assertEqual(h.shape, w.shape)
                    self.assertLess((h - w).abs().max().item(), 1e-5 * h.abs().max().item(), (residual, frames))
                    z = h.chunk(2, dim=1)[0]
                    a, b = vae.decode(z).sample, whole_clip.decode(vae, z)
                self.assertEqual(a.shape, b.shape)
                self.assertGreater(a.std().item(), 1e-2)
                self.assertLess((a - b).abs().max().item(), 1e-5, (residual, frames))
            # the gradients of a reconstruction loss agree too, encoder and decoder
            x = torch.rand(1, 3, 9, 16, 16) * 2 - 1
            grads = []
            for enc, dec in ((vae._encode, lambda z: vae.decode(z).sample),
                             (lambda x: whole_clip.encode(vae, x), lambda z: whole_clip.decode(vae, z))):
                vae.zero_grad()
                torch.nn.functional.mse_loss(dec(enc(x).chunk(2, dim=1)[0]), x).backward()
                grads.append(torch.cat([p.grad.flatten() for p in vae.parameters() if p.grad is not None]))
            self.assertEqual(grads[0].shape, grads[1].shape)
            self.assertLess((grads[0] - grads[1]).abs().max().item(), 1e-4 * grads[0].abs().max().item())
        with self.assertRaises(ValueError):    # the chunked loop's four-frame chunks need 4k+1 frames
            whole_clip.encode(vae, torch.zeros(1, 3, 6, 16, 16))

    def test_channels_last_computes_the_same_steps_and_saves_the_default_layout(self):
        from diffusers import AutoencoderKLWan
        from training import whole_clip
        from training.trainers import autoencoder_loss
        torch.manual_seed(0)
        plain = make_vae(TINY_VAE)
        with torch.no_grad():                  # every weight away from its initial value, so no layer is silent
            for p in plain.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        laid = copy.deepcopy(plain)
        whole_clip.channels_last(laid)
        w = laid.decoder.conv_in.weight
        self.assertTrue(w.is_contiguous(memory_format=torch.channels_last_3d) and not w.is_contiguous())
        x = torch.rand(2, 3, 9, 16, 24) * 2 - 1
        runs = []
        for vae in (plain, laid):
            opt = torch.optim.SGD(vae.parameters(), lr=1e-2)    # (Adam's first step is the gradients' signs)
            torch.manual_seed(1)               # the same posterior sample
            loss, rec, _ = autoencoder_loss(vae, x, train_encoder=True)
            loss.backward()
            grads = {n: p.grad.clone() for n, p in vae.named_parameters()}
            opt.step()
            runs.append((loss.item(), rec.detach(), grads, tensors(vae)))
        (l0, r0, g0, w0), (l1, r1, g1, w1) = runs
        self.assertAlmostEqual(l0, l1, places=5)
        self.assertLess((r0 - r1).abs().max().item(), 1e-4)           # fp32, summed in another order
        for n, g in g0.items():
            self.assertLess((g - g1[n]).abs().max().item(), 1e-5 * max(1.0, g.abs().max().item()), n)
        for k, v in w0.items():
            self.assertLess((v - w1[k]).abs().max().item(), 1e-6, k)
        self.assertTrue(laid.decoder.conv_in.weight.is_contiguous(memory_format=torch.channels_last_3d))  # still
        with tempfile.TemporaryDirectory() as d:
            laid.save_pretrained(d)
            back = AutoencoderKLWan.from_pretrained(d)
        self.assertTrue(back.decoder.conv_in.weight.is_contiguous())
        for k, v in tensors(back).items():
            self.assertTrue(torch.equal(v, w1[k]), k)


class DiTTrainerTests(unittest.TestCase):
    def test_cpu_bf16_steps_learn_and_resume(self):
        """bf16 autocast on the CPU (--cpu-bf16): finite flow-matching loss, weights move, EMA and step resume."""
        torch.manual_seed(0)
        latents = torch.randn(4, 16, 2, 4, 4)
        text, null = torch.randn(4, 3, 8, 384), torch.zeros(8, 384)
        dit = make_dit(TINY_DIT, 16)
        w0 = tensors(dit)
        with tempfile.TemporaryDirectory() as d:
            tr = DiTTrainer(dit, latents, text, null, Path(d), lr=1e-3, total_steps=3, batch=2, cpu_amp=True)
            self.assertTrue(tr.amp)
            losses = [tr.step()["loss"] for _ in range(3)]
            self.assertTrue(all(np.isfinite(losses)), losses)
            self.assertTrue(any(not torch.equal(v, w0[k]) for k, v in tensors(dit).items()))
            tr.save()
            again = DiTTrainer(make_dit(TINY_DIT, 16), latents, text, null, Path(d), total_steps=3, batch=2)
            self.assertFalse(again.amp)                  # fp32 unless asked
            self.assertTrue(again.resume())
            self.assertTrue(again.done())
            for k, v in tensors(again.model).items():
                self.assertTrue(torch.equal(v, tensors(dit)[k]), k)


def compiled_graphs() -> int:
    """How many graphs torch.compile has traced in this process so far."""
    from torch._dynamo.utils import counters
    return counters["stats"]["unique_graphs"]


def parted(start: dict, a: dict, b: dict) -> float:
    """How far two trainings from `start` ended apart, relative to how far they went (norms over every weight).
    Adam moves each weight by about its step size at first whichever way its gradient points, so single weights
    whose gradients are ~0 may part by twice that while the steps as a whole agree."""
    moved = sum(float((a[k] - start[k]).pow(2).sum()) for k in a) ** 0.5
    return sum(float((b[k] - a[k]).pow(2).sum()) for k in a) ** 0.5 / moved


class CompileTests(unittest.TestCase):
    """--compile (run_all, finetune_vae): torch.compile'd steps train as the eager ones do, and their checkpoints
    are the eager ones' (the same keys: an eager trainer resumes them). Needs a C++ compiler (tools/install-deps.sh)."""

    def assert_trained_alike(self, start: dict, runs: list, again):
        """runs: (losses, weights) of the eager run, then of the compiled one, both from `start`; `again`, an
        eager trainer over the compiled run's directory, must resume its checkpoint exactly."""
        (eager_loss, eager_w), (comp_loss, comp_w) = runs
        self.assertTrue(np.allclose(comp_loss, eager_loss, rtol=1e-4), (comp_loss, eager_loss))
        self.assertEqual(eager_w.keys(), comp_w.keys())
        self.assertLess(parted(start, eager_w, comp_w), 0.03)
        self.assertTrue(again.resume())
        for k, v in tensors(again.model).items():
            self.assertTrue(torch.equal(v, comp_w[k]), k)

    def test_compiled_autoencoder_steps_train_as_eager_ones(self):
        from training import whole_clip
        # a 5-frame window of a 16x16 crop, then whole 9x24x24 clips (run_all's --vae-whole-fraction): two
        # sizes, each compiled for itself (traced with symbolic sizes, the second failed to compile)
        frames = np.random.default_rng(2).integers(0, 256, (3, 9, 24, 24, 3), dtype=np.uint8)
        runs = []
        with tempfile.TemporaryDirectory() as d:
            for compiled in (False, True):
                torch.manual_seed(0)
                vae = make_vae(TINY_VAE)
                start = tensors(vae)
                whole_clip.compile_passes(compiled)
                graphs = compiled_graphs()
                try:
                    tr = VAETrainer(vae, frames, Path(d) / str(compiled), lr=1e-3, total_steps=2, batch=2,
                                    opl_weight=0.0, window=5, crop=16, whole_fraction=0.5)
                    runs.append(([tr.step()["loss"] for _ in range(2)], tensors(vae)))
                    tr.save()
                finally:
                    whole_clip.compile_passes(False)
                # the compiled run traced the encoder's and the decoder's pass at each size; the eager one nothing
                self.assertEqual(compiled_graphs() - graphs, 4 if compiled else 0)
            self.assert_trained_alike(start, runs,
                                      VAETrainer(make_vae(TINY_VAE), frames, Path(d) / "True", total_steps=2, batch=2))

    def test_a_compiled_transformer_trains_as_the_eager_one(self):
        latents = torch.randn(4, 16, 2, 4, 4)
        text, null = torch.randn(4, 3, 8, 384), torch.zeros(8, 384)
        runs = []
        with tempfile.TemporaryDirectory() as d:
            for compiled in (False, True):
                torch.manual_seed(0)
                dit = make_dit(TINY_DIT, 16)
                start = tensors(dit)
                tr = DiTTrainer(dit, latents, text, null, Path(d) / str(compiled), lr=1e-3, total_steps=2, batch=2)
                if compiled:
                    dit.compile()                            # as run_all --compile: in place, after the trainer
                graphs = compiled_graphs()
                runs.append(([tr.step()["loss"] for _ in range(2)], tensors(dit)))
                self.assertEqual(compiled_graphs() > graphs, compiled)
                tr.save()
            self.assert_trained_alike(start, runs, DiTTrainer(make_dit(TINY_DIT, 16), latents, text, null,
                                                              Path(d) / "True", total_steps=2, batch=2))


class TimestepTests(unittest.TestCase):
    def test_shift_moves_training_times_toward_noise(self):
        plain = draw_timesteps(200_000, torch.Generator().manual_seed(0))
        shifted = draw_timesteps(200_000, torch.Generator().manual_seed(0), shift=3.0)
        self.assertTrue(bool(((plain > 0) & (plain < 1)).all() and ((shifted > 0) & (shifted < 1)).all()))
        # logit-normal(0, 1): median 1/2, P(t > 0.8) = P(z > logit 0.8) = 8.3%; shifted by 3 the median is
        # 3/4 and P(t' > 0.8) = P(z > logit(0.8 / 1.4)) = 38.7%
        self.assertAlmostEqual(plain.median().item(), 0.5, delta=0.01)
        self.assertAlmostEqual(shifted.median().item(), 0.75, delta=0.01)
        self.assertAlmostEqual((plain > 0.8).float().mean().item(), 0.083, delta=0.005)
        self.assertAlmostEqual((shifted > 0.8).float().mean().item(), 0.387, delta=0.005)


class Bf16ChoiceTests(unittest.TestCase):
    def test_the_notice_names_the_faster_precision_only_when_bf16_is_slower(self):
        from training.common import bf16_notice, bf16_speedup
        self.assertIsNone(bf16_notice(3.1))            # the AMD EPYC of sessions 5-14
        self.assertIsNone(bf16_notice(1.0))
        notice = bf16_notice(0.51)                     # session 15's Intel Xeon
        self.assertIn("0.51x", notice)
        self.assertIn("--fp32", notice)
        speedup = bf16_speedup(n=128, repeats=2)       # a ratio of two timings of this machine: finite, positive
        self.assertTrue(0 < speedup < float("inf"))


class FakeClock:
    """time.time for run_phase, advanced only by the fake trainers' steps (no wall-clock dependence)."""
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now


class PacedTrainer:
    """A trainer whose steps cost `cost(step)` seconds of the fake clock."""
    name = "paced"

    def __init__(self, clock, total, cost):
        self.clock, self.total, self.cost, self.step_n = clock, total, cost, 0

    def step(self):
        self.clock.now += self.cost(self.step_n)
        self.step_n += 1
        return {"loss": 0.0}

    def done(self):
        return self.step_n >= self.total

    def save(self):
        pass


class RunAllArgumentTests(unittest.TestCase):
    def test_no_validation_prompts_and_no_sampler_settings_is_refused_before_any_work(self):
        from training import run_all
        with tempfile.TemporaryDirectory() as d, self.assertRaises(SystemExit):
            run_all.main(["--run-dir", d, "--minilm", d, "--clips", "1", "--eval-limit", "0", "--flow-shift", "3"])


class RunPhaseTests(unittest.TestCase):
    """The step totals follow the measured pace, so a time-boxed schedule ends on time."""

    def run_paced(self, cost, budget=10.0, asked=100_000):
        from unittest import mock
        from training import run_all
        clock = FakeClock()
        tr = PacedTrainer(clock, asked, cost)
        log = mock.Mock()
        with mock.patch.object(run_all.time, "time", clock.time), mock.patch.object(run_all, "log"):
            done = run_all.run_phase([tr], budget, log_every=10**9, ckpt_every=10**9, logs={"paced": log},
                                     calibrate=True)
        return tr, done

    def test_a_pace_that_slows_after_the_first_rounds_is_measured_again(self):
        # 10 ms per step for 40 rounds (another run not yet on the device), then 30 ms: the first measurement
        # allows 1000 steps in 10 s, the second (after 2 s) 360, and the schedule ends within the budget
        tr, done = self.run_paced(lambda n: 0.01 if n < 40 else 0.03)
        self.assertTrue(done)
        self.assertAlmostEqual(tr.total, 360, delta=3)

    def test_the_second_measurement_never_asks_for_more_than_was_asked(self):
        tr, done = self.run_paced(lambda n: 0.03 if n < 40 else 0.01, asked=500)
        self.assertTrue(done)
        self.assertLessEqual(tr.total, 500)

    def test_steps_too_slow_for_forty_rounds_are_measured_sooner(self):
        # a CPU's whole-clip steps: 3.6 s each, 132 s for the phase; measured once 13.2 s have passed (round 4),
        # the schedule shrinks to 36 steps and ends within the budget instead of stopping unfinished
        tr, done = self.run_paced(lambda n: 3.6, budget=132.0)
        self.assertTrue(done)
        self.assertEqual(tr.total, 36)


class ObjectCropTests(unittest.TestCase):
    def test_crops_are_cut_from_the_clip_and_its_latents_around_an_object(self):
        from training.data import render_with_truth
        from training.finetune_vae import object_crops
        from training.trainers import frames_to_tensor
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval()
        x, z, at = object_crops(vae, 5, 2, 24, amp=False)
        self.assertEqual(tuple(x.shape), (2, 3, 17, 24, 24))
        self.assertEqual(tuple(z.shape), (2, TINY_VAE.z_dim, 5, 3, 3))
        for b, (_, r) in enumerate(render_with_truth(5, 2)):
            whole = frames_to_tensor(r.frames[None], "cpu")
            with torch.no_grad():
                latents = vae._encode(whole).chunk(2, dim=1)[0]
            i, j = at[b]
            self.assertTrue(torch.equal(x[b], whole[0, :, :, 8 * i:8 * i + 24, 8 * j:8 * j + 24]))
            self.assertTrue(torch.allclose(z[b], latents[0, :, :, i:i + 3, j:j + 3], atol=1e-5))
            boxes = [fr["box"] for o in r.truth["objects"] for fr in o["frames"]]
            self.assertTrue(any(x0 < 8 * j + 24 and x1 >= 8 * j and y0 < 8 * i + 24 and y1 >= 8 * i
                                for x0, y0, x1, y1 in boxes))


class EncoderOnlyTests(unittest.TestCase):
    def test_encoder_steps_leave_the_decoder_and_move_the_latents(self):
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        from training.data import build
        from training.trainers import frames_to_tensor
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE)
        x = frames_to_tensor(build(3, 1), "cpu")
        with tempfile.TemporaryDirectory() as d:
            vae.save_pretrained(f"{d}/start")
            finetune_vae.main(["--vae", f"{d}/start", "--encoder", "--anchor", "0.1", "--steps", "3", "--batch", "1",
                               "--warmup", "1", "--lr", "1e-3", "--eval-every", "3", "--eval-clips", "1", "--fp32",
                               "--save", f"{d}/out"])
            out = AutoencoderKLWan.from_pretrained(f"{d}/out")
        for part in ("decoder", "post_quant_conv"):
            for k, v in tensors(getattr(out, part)).items():
                self.assertTrue(torch.equal(v, tensors(getattr(vae, part))[k]), f"{part}.{k}")
        self.assertTrue(any(not torch.equal(v, tensors(vae.encoder)[k]) for k, v in tensors(out.encoder).items()))
        self.assertEqual(out.config.latents_std, vae.config.latents_std)
        with torch.no_grad():
            before, after = vae._encode(x).chunk(2, dim=1)[0], out._encode(x).chunk(2, dim=1)[0]
        self.assertFalse(torch.allclose(before, after))


class WidenLatentsTests(unittest.TestCase):
    def test_wider_latents_keep_the_round_trip_and_the_decoder_learns_them(self):
        from training.data import build
        from training.trainers import autoencoder_loss, frames_to_tensor
        from training.widen import widen_latents
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval()
        z = vae.config.z_dim
        wide = widen_latents(vae, z + 4).eval()
        x = frames_to_tensor(build(6, 1), "cpu")[:, :, :5]
        with torch.no_grad():
            before, after = vae._encode(x), wide._encode(x)
            self.assertTrue(torch.equal(after[:, :z], before[:, :z]))                  # the old means
            self.assertTrue(torch.equal(after[:, z + 4:2 * z + 4], before[:, z:]))     # the old log-variances
            self.assertGreater(after[:, z:z + 4].std().item(), 0.01)                  # new channels carry features
            self.assertTrue(torch.allclose(wide.decode(after[:, :z + 4]).sample, vae.decode(before[:, :z]).sample,
                                           atol=1e-5))
        self.assertEqual(len(wide.config.latents_std), z + 4)
        wide.train()
        loss, _, _ = autoencoder_loss(wide, x, train_encoder=True)
        loss.backward()
        self.assertGreater(wide.decoder.conv_in.weight.grad[:, z:].abs().sum().item(), 0.0)

    def test_widening_is_seeded_and_leaves_the_callers_random_stream(self):
        from training.widen import widen_latents
        vae = make_vae(TINY_VAE).eval()
        torch.manual_seed(5)
        expected = torch.rand(3)
        torch.manual_seed(5)
        a = widen_latents(vae, vae.config.z_dim + 2, seed=1)
        self.assertTrue(torch.equal(torch.rand(3), expected))      # as if widen_latents had not run
        b = widen_latents(vae, vae.config.z_dim + 2, seed=1)
        for (name, t), u in zip(a.state_dict().items(), b.state_dict().values()):
            self.assertTrue(torch.equal(t, u), name)


def tiny_finetune(d: str, *extra: str) -> list[str]:
    """A tiny autoencoder saved as d/start, and finetune_vae's arguments for whole-autoencoder steps of one clip on it."""
    make_vae(TINY_VAE).save_pretrained(f"{d}/start")
    return ["--vae", f"{d}/start", "--whole", "--batch", "1", "--warmup", "1", "--lr", "1e-3", "--eval-every", "1",
            "--eval-clips", "1", "--fp32", "--seed", "3", *extra]


class FinetuneResumeTests(unittest.TestCase):
    def test_a_stopped_run_continues_to_the_same_weights_and_refuses_other_settings(self):
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as d:
            args = tiny_finetune(d, "--ema", "0.9")
            finetune_vae.main(args + ["--steps", "2", "--save", f"{d}/straight"])
            finetune_vae.main(args + ["--steps", "1", "--save", f"{d}/resumed", "--checkpoint", f"{d}/state.pt"])
            finetune_vae.main(args + ["--steps", "2", "--save", f"{d}/resumed", "--checkpoint", f"{d}/state.pt"])
            straight, resumed = (tensors(AutoencoderKLWan.from_pretrained(f"{d}/{n}")) for n in ("straight", "resumed"))
            for k, v in straight.items():
                self.assertTrue(torch.equal(v, resumed[k]), k)
            start = tensors(AutoencoderKLWan.from_pretrained(f"{d}/start"))
            self.assertFalse(all(torch.equal(v, start[k]) for k, v in straight.items()))
            with self.assertRaises(SystemExit) as refused:
                finetune_vae.main([a if a != "3" else "4" for a in args] + ["--steps", "3", "--checkpoint",
                                                                           f"{d}/state.pt"])
            self.assertIn("--seed 3 (now 4)", str(refused.exception))


class FinetuneDataTests(unittest.TestCase):
    def test_windows_are_consecutive_frames_of_their_own_clip_from_seeded_starts(self):
        from training.finetune_vae import windows
        x = torch.arange(8 * 17).float().view(8, 1, 17, 1, 1)      # clip b, frame t holds 17 b + t
        w = windows(x, 5, 7)
        self.assertEqual(tuple(w.shape), (8, 1, 5, 1, 1))
        starts = (w[:, 0, 0, 0, 0] - 17 * torch.arange(8)).long().tolist()
        for b, s in enumerate(starts):
            self.assertTrue(0 <= s <= 12)
            self.assertTrue(torch.equal(w[b, 0, :, 0, 0], x[b, 0, s:s + 5, 0, 0]))
        self.assertTrue(torch.equal(w, windows(x, 5, 7)))
        self.assertGreater(len(set(starts)), 1)

    def test_a_channels_last_run_trains_as_the_plain_one(self):
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as d:
            args = tiny_finetune(d, "--steps", "2", "--ema", "0.9")
            finetune_vae.main(args + ["--save", f"{d}/plain"])
            finetune_vae.main(args + ["--channels-last", "--save", f"{d}/laid"])
            start, plain, laid = (tensors(AutoencoderKLWan.from_pretrained(f"{d}/{n}"))
                                  for n in ("start", "plain", "laid"))
            # Adam's steps follow the gradients' signs, so where a gradient is near zero the two layouts' last bits
            # can part a weight by a step; the runs as a whole stay together
            moved = sum((v - start[k]).pow(2).sum() for k, v in plain.items()).sqrt().item()
            apart = sum((v - laid[k]).pow(2).sum() for k, v in plain.items()).sqrt().item()
            self.assertGreater(moved, 0.0)
            self.assertLess(apart, 0.01 * moved)

    def test_clip_psnr_follows_the_mean_of_the_clips_log_mse(self):
        from training.trainers import clip_psnr_mse
        x = torch.rand(3, 3, 5, 8, 8) * 2 - 1
        rec = (x + torch.randn_like(x) * torch.tensor([0.01, 0.1, 0.3]).view(3, 1, 1, 1, 1)).requires_grad_()
        loss = clip_psnr_mse(rec, x)
        self.assertAlmostEqual(loss.item(), torch.nn.functional.mse_loss(rec, x).item(), places=6)
        loss.backward()
        ours = rec.grad.clone()
        rec.grad = None
        per_clip = (rec - x).pow(2).flatten(1).mean(1)
        (per_clip.mean().detach() * per_clip.log().mean()).backward()
        self.assertLess((ours - rec.grad).abs().max().item(), 1e-6 * rec.grad.abs().max().item())
        rec.grad = None
        torch.nn.functional.mse_loss(rec, x).backward()         # the pooled MSE leans on the worst clip
        self.assertGreater((ours - rec.grad).abs().max().item(), 0.1 * rec.grad.abs().max().item())

    def test_clip_psnr_runs_train_as_plain_ones_on_one_clip_a_batch_and_otherwise_on_more(self):
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as d:
            args = tiny_finetune(d, "--steps", "1")
            for batch in ("1", "2"):
                finetune_vae.main(args + ["--batch", batch, "--save", f"{d}/plain{batch}"])
                finetune_vae.main(args + ["--batch", batch, "--clip-psnr", "--save", f"{d}/psnr{batch}"])
            w = {n: tensors(AutoencoderKLWan.from_pretrained(f"{d}/{n}")) for n in ("plain1", "psnr1", "plain2", "psnr2")}
            for k, v in w["plain1"].items():
                self.assertTrue(torch.equal(v, w["psnr1"][k]), k)       # one clip: its weight is 1
            self.assertFalse(all(torch.equal(v, w["psnr2"][k]) for k, v in w["plain2"].items()))

    def test_runs_on_windows_or_crowded_clips_train_otherwise_and_other_lengths_are_refused(self):
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as d:
            args = tiny_finetune(d, "--steps", "1")
            finetune_vae.main(args + ["--save", f"{d}/whole"])
            finetune_vae.main(args + ["--frames", "5", "--save", f"{d}/windows"])
            finetune_vae.main(args + ["--crowd", "2", "--save", f"{d}/crowd"])
            start, whole, win, crowd = (tensors(AutoencoderKLWan.from_pretrained(f"{d}/{n}"))
                                        for n in ("start", "whole", "windows", "crowd"))
            for other in (win, crowd):
                self.assertFalse(all(torch.equal(v, start[k]) for k, v in other.items()))
                self.assertFalse(all(torch.equal(v, whole[k]) for k, v in other.items()))
            for frames in ("8", "21"):
                with self.assertRaises(SystemExit):
                    finetune_vae.main(args + ["--frames", frames])


class KeepReadingTests(unittest.TestCase):
    def test_the_kept_encoders_latents_train_the_decoder_alone(self):
        import torch.nn.functional as F
        from diffusers import AutoencoderKLWan
        from training import finetune_vae
        from training.align import fold_affine
        from training.data import build
        from training.trainers import frames_to_tensor
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE)
        z = vae.config.z_dim        # the kept encoder: this one's in other coordinates (the transformer's latents)
        kept = fold_affine(vae, torch.eye(z, dtype=torch.float64) + 0.5 * torch.randn(z, z, dtype=torch.float64),
                           torch.randn(z, dtype=torch.float64)).requires_grad_(False)
        x = frames_to_tensor(build(6, 1), "cpu")[:, :, :5]
        loss, latents = finetune_vae.kept_reading_loss(vae, kept, x, amp=False, l1_weight=0.0)
        loss.backward()
        with torch.no_grad():
            wanted = kept.encode(x).latent_dist.mode()
            torch.testing.assert_close(latents, wanted)
            torch.testing.assert_close(loss, F.mse_loss(vae.decode(wanted).sample, x), atol=1e-6, rtol=1e-5)
        self.assertGreater(vae.decoder.conv_in.weight.grad.abs().sum().item(), 0.0)
        self.assertGreater(vae.post_quant_conv.weight.grad.abs().sum().item(), 0.0)
        self.assertTrue(all(p.grad is None for p in vae.encoder.parameters()))
        self.assertIsNone(vae.quant_conv.weight.grad)
        with tempfile.TemporaryDirectory() as d:                 # and a run with it trains otherwise
            args = tiny_finetune(d, "--steps", "1")
            kept.save_pretrained(f"{d}/kept")
            finetune_vae.main(args + ["--save", f"{d}/plain"])
            finetune_vae.main(args + ["--keep-reading", f"{d}/kept", "--save", f"{d}/reading"])
            plain, reading = (tensors(AutoencoderKLWan.from_pretrained(f"{d}/{n}")) for n in ("plain", "reading"))
            self.assertFalse(all(torch.equal(v, reading[k]) for k, v in plain.items()))
            with self.assertRaises(SystemExit):
                finetune_vae.main(args + ["--keep-reading", f"{d}/kept", "--frames", "5"])


class KeepDrawingTests(unittest.TestCase):
    class Embeddings:                   # stands in for MiniLM: a fixed embedding per prompt
        def encode(self, prompts):
            return torch.stack([torch.randn(8, 384, generator=torch.Generator().manual_seed(len(p))) for p in prompts])

    def test_the_pool_is_what_the_pipeline_generates_and_its_drawing_trains_the_decoder(self):
        from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline
        from training import finetune_vae
        from training.drawn import drawn_pool
        from training.sample import generate
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE, latents_mean=[0.1] * 16, latents_std=[2.0] * 16).eval()
        pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=make_dit(TINY_DIT, 16).eval(),
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
        pipe.set_progress_bar_config(disable=True)
        prompts, seeds = ["a red ball", "a blue cube rolls left"], [3, 4]
        pool = drawn_pool(pipe, self.Embeddings(), prompts, seeds, steps=2, guidance=5.0)
        clips = generate(pipe, self.Embeddings(), prompts, seeds, steps=2, guidance=5.0)
        self.assertEqual(tuple(pool["latents"].shape), (2, 16, 5, 8, 8))
        drawn8 = ((pool["drawn"].float().permute(0, 2, 3, 4, 1) + 1) * 127.5).round()
        self.assertLessEqual((drawn8 - torch.from_numpy(clips).float()).abs().max().item(), 1.0)
        self.assertGreater(pool["drawn"].float().std().item(), 0.01)
        # the loss: the decoder's drawing of the pool's latents against the pool's drawing, its gradient the decoder's
        other = make_vae(TINY_VAE)
        loss = finetune_vae.kept_drawing_loss(other, pool["latents"], pool["drawn"], amp=False)
        loss.backward()
        with torch.no_grad():
            wanted = torch.nn.functional.mse_loss(other.decode(pool["latents"]).sample, pool["drawn"].float())
        torch.testing.assert_close(loss, wanted, atol=1e-5, rtol=1e-4)
        self.assertGreater(other.decoder.conv_in.weight.grad.abs().sum().item(), 0.0)
        self.assertTrue(all(p.grad is None for p in other.encoder.parameters()))
        with tempfile.TemporaryDirectory() as d:                 # and a run with it trains otherwise
            torch.save(pool, f"{d}/pool.pt")
            args = tiny_finetune(d, "--steps", "1")
            finetune_vae.main(args + ["--save", f"{d}/plain"])
            finetune_vae.main(args + ["--keep-drawing", f"{d}/pool.pt", "--save", f"{d}/drawing"])
            plain, drawing = (tensors(make_vae(TINY_VAE).from_pretrained(f"{d}/{n}")) for n in ("plain", "drawing"))
            self.assertFalse(all(torch.equal(v, drawing[k]) for k, v in plain.items()))
            with self.assertRaises(SystemExit):                   # a pool with no clip left to train on
                finetune_vae.main(args + ["--keep-drawing", f"{d}/pool.pt", "--eval-clips", "2"])


class AlignTests(unittest.TestCase):
    def test_a_change_of_latent_coordinates_is_undone_and_every_round_trip_kept(self):
        from training.align import align_latents, fold_affine
        from training.data import build
        from training.trainers import frames_to_tensor
        torch.manual_seed(0)
        old = make_vae(TINY_VAE).eval().requires_grad_(False)
        z_dim = old.config.z_dim
        frames = np.ascontiguousarray(build(5, 3)[:, :5])   # 5 frames: the first latent frame and one chunk
        x = frames_to_tensor(frames, "cpu")

        def latents(vae):
            return vae.encode(x).latent_dist.mode()

        def round_trip(vae):
            return vae.decode(latents(vae)).sample

        with torch.no_grad():
            moved = fold_affine(old, torch.eye(z_dim, dtype=torch.float64) + 0.3 * torch.randn(z_dim, z_dim,
                                dtype=torch.float64), torch.randn(z_dim, dtype=torch.float64))
            torch.testing.assert_close(round_trip(moved), round_trip(old), atol=1e-4, rtol=0)
            aligned, r = align_latents(moved, old, frames, batch=2)
            self.assertGreater(r["moved_std_before"], 0.1)
            self.assertLess(r["moved_std_after"], 1e-4)
            torch.testing.assert_close(latents(aligned), latents(old), atol=1e-4, rtol=0)
            retrained = copy.deepcopy(old)                # a move no affine map undoes: the encoder's own weights
            for prm in retrained.encoder.parameters():
                prm.add_(0.05 * prm.abs().mean() * torch.randn_like(prm))
            aligned, r = align_latents(retrained, old, frames, batch=2)
            self.assertLess(r["moved_std_after"], r["moved_std_before"])
            self.assertGreater(r["moved_std_after"], 1e-3)
            torch.testing.assert_close(round_trip(aligned), round_trip(retrained), atol=1e-4, rtol=0)


    def test_an_ill_conditioned_map_is_bounded_and_the_round_trip_kept(self):
        from training.align import align_latents, fit_affine, fold_affine
        from training.data import build
        from training.trainers import frames_to_tensor
        torch.manual_seed(0)
        old = make_vae(TINY_VAE).eval().requires_grad_(False)
        z_dim = old.config.z_dim
        frames = np.ascontiguousarray(build(5, 3)[:, :5])
        x = frames_to_tensor(frames, "cpu")
        squash = torch.eye(z_dim, dtype=torch.float64)
        squash[-1, -1] = 0.01                      # one direction the new latents barely span: undoing it needs 100x
        with torch.no_grad():
            moved = fold_affine(old, squash, torch.zeros(z_dim, dtype=torch.float64))
            _, free = align_latents(moved, old, frames, batch=2)
            self.assertGreater(free["condition"], 90)
            self.assertEqual(free["ridge"], 0.0)
            aligned, bounded = align_latents(moved, old, frames, batch=2, max_condition=10)
            self.assertLessEqual(bounded["condition"], 10 + 1e-6)
            self.assertGreater(bounded["ridge"], 0)
            self.assertGreater(bounded["moved_std_after"], free["moved_std_after"])
            self.assertLess(bounded["moved_std_after"], bounded["moved_std_before"])
            torch.testing.assert_close(aligned.decode(aligned.encode(x).latent_dist.mode()).sample,
                                       moved.decode(moved.encode(x).latent_dist.mode()).sample, atol=1e-4, rtol=0)
        # A well-conditioned fit is plain least squares: the same map with or without the bound.
        z = torch.randn(500, 4, dtype=torch.float64)
        m = torch.eye(4, dtype=torch.float64) + 0.1 * torch.randn(4, 4, dtype=torch.float64)
        got, c, ridge = fit_affine(z, z @ m.T + 1.0, max_condition=10)
        self.assertEqual(ridge, 0.0)
        torch.testing.assert_close(got, m)
        torch.testing.assert_close(c, torch.ones(4, dtype=torch.float64))
        with self.assertRaises(ValueError):          # no map has a condition number below 1: refused, not searched for
            fit_affine(z, z @ m.T, max_condition=0.5)


class LatentGapTests(unittest.TestCase):
    def test_the_fit_starts_at_the_round_trip_and_lowers_the_error(self):
        from training.data import render_with_truth
        from training.eval.latent_gap import fit_latents
        from training.eval.vae_errors import round_trip, split_errors
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval().requires_grad_(False)
        _, r = next(render_with_truth(4, 1))
        seen, moved = fit_latents(vae, r.frames, r.truth, steps=5, lr=0.05, report=(0,), amp=False)
        self.assertEqual(seen[0], split_errors(r.frames, round_trip(vae, r.frames), r.truth))
        self.assertGreater(seen[5]["psnr"], seen[0]["psnr"] + 0.1)
        self.assertGreater(moved, 0.0)

    def test_the_decoder_fit_starts_at_the_round_trip_lowers_the_error_and_leaves_the_model(self):
        import copy
        from training.data import render_with_truth
        from training.eval.latent_gap import fit_decoder
        from training.eval.vae_errors import round_trip, split_errors
        torch.manual_seed(0)
        vae = make_vae(TINY_VAE).eval().requires_grad_(False)
        before = copy.deepcopy(vae.state_dict())
        _, r = next(render_with_truth(4, 1))
        seen, moved = fit_decoder(vae, r.frames, r.truth, steps=5, lr=1e-3, report=(0,), amp=False)
        self.assertEqual(seen[0], split_errors(r.frames, round_trip(vae, r.frames), r.truth))
        self.assertGreater(seen[5]["psnr"], seen[0]["psnr"] + 0.1)
        self.assertGreater(moved, 0.0)
        for k, v in vae.state_dict().items():          # the fit works on a copy
            self.assertTrue(torch.equal(v, before[k]), k)


class LatentShiftTests(unittest.TestCase):
    def test_an_unchanged_autoencoder_moves_nothing_and_a_moved_encoder_is_seen(self):
        import copy
        from training.data import build
        from training.eval.benchmark import psnr8, round_trip8
        from training.eval.latent_shift import latent_shift
        torch.manual_seed(0)
        old = make_vae(TINY_VAE).eval().requires_grad_(False)
        frames = np.ascontiguousarray(build(5, 3)[:, :5])   # 5 frames: the first latent frame and one chunk
        same = latent_shift(old, copy.deepcopy(old), frames, batch=2)
        self.assertEqual(same["moved_std"], 0.0)
        self.assertGreater(same["spread_std"], 0.0)
        self.assertEqual(len(set(same["psnr"].values())), 1)      # four times the same round trip
        x = torch.from_numpy(frames).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        self.assertAlmostEqual(same["psnr"]["old dec(old enc)"], float(psnr8(round_trip8(old, x), x).mean()), places=4)
        new = copy.deepcopy(old)
        with torch.no_grad():                   # only the encoder's output layer changes: the decoders stay equal
            z_dim = old.config.z_dim            # the first z_dim channels are the posterior's means
            new.quant_conv.bias[:z_dim] += 0.5 * torch.tensor(old.config.latents_std)
        moved = latent_shift(old, new, frames, batch=2)
        self.assertAlmostEqual(moved["moved_std"], 0.5, places=4)
        p = moved["psnr"]
        self.assertEqual(p["old dec(old enc)"], p["new dec(old enc)"])
        self.assertEqual(p["old dec(new enc)"], p["new dec(new enc)"])
        self.assertNotEqual(p["old dec(old enc)"], p["new dec(new enc)"])


if __name__ == "__main__":
    unittest.main()
