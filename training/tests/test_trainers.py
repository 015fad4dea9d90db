"""The trainers' resumable steps, on tiny models (CPU, seconds).

    python3 -m unittest discover -s training/tests -t .
"""
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from training.models import TINY_VAE, make_vae
from training.trainers import VAETrainer


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


if __name__ == "__main__":
    unittest.main()
