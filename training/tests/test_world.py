"""The world, the held-out split, the analyzer and the losses (CPU, seconds).

    python3 -m unittest discover -s training/tests -t .
"""
import os
import unittest
from pathlib import Path

import numpy as np
import torch

from training.world import HeldOut, caption, eval_prompts, render, sample_spec
from training.world.palette import COLOURS
from training.world.spec import ClipSpec
from training.eval.analyzer import analyze
from training.eval.prompts import expected_label, parse
from training.losses import outlier_penalty


class WorldTests(unittest.TestCase):
    def test_render_is_deterministic_and_shaped(self):
        spec = sample_spec(np.random.default_rng(3), 3)
        a, b = render(spec), render(ClipSpec.from_dict(spec.to_dict()))
        self.assertEqual(a.frames.shape, (17, 64, 64, 3))
        self.assertEqual(a.frames.dtype, np.uint8)
        np.testing.assert_array_equal(a.frames, b.frames)
        self.assertEqual(len(a.truth["objects"][0]["frames"]), 17)

    def test_antialiased_edges(self):
        # supersampling leaves intermediate values on a ball's edge, not only background and object colours
        spec = next(s for s in (sample_spec(np.random.default_rng(i), i, single=True, static_camera=True)
                                for i in range(200)) if s.background == "studio" and s.main.shape == "ball")
        f = render(spec).frames[0].astype(int)
        box = render(spec).truth["objects"][0]["frames"][0]["box"]
        patch = f[box[1]:box[3], box[0]:box[2]].reshape(-1, 3)
        self.assertGreater(len(np.unique(patch, axis=0)), 20)

    def test_bounce_records_floor_contacts(self):
        spec = next(s for s in (sample_spec(np.random.default_rng(i), i) for i in range(400))
                    if s.main.motion == "bounce")
        events = [e for e in render(spec).truth["events"] if e["object"] == 0]
        self.assertGreaterEqual(len(events), 1)
        self.assertTrue(all(e["type"] == "contact" and e["surface"] == "floor" for e in events))

    def test_training_never_draws_held_out_combinations(self):
        held = HeldOut()
        for i in range(600):
            s = sample_spec(np.random.default_rng(i), i, excluded=held)
            self.assertFalse(held(s.main.colour, s.main.shape, s.main.motion))

    def test_a_crowd_adds_objects_to_the_same_clip(self):
        for i in range(20):
            plain = sample_spec(np.random.default_rng(i), i)
            crowded = sample_spec(np.random.default_rng(i), i, crowd=3)
            self.assertEqual(crowded.objects[:len(plain.objects)], plain.objects)
            self.assertEqual(len(crowded.objects), len(plain.objects) + 3)
            self.assertEqual((crowded.background, crowded.camera, crowded.bg_params),
                             (plain.background, plain.camera, plain.bg_params))
            self.assertTrue(all(o.size in ("small", "medium") for o in crowded.objects[len(plain.objects):]))
        self.assertEqual(len(render(crowded).truth["objects"]), len(crowded.objects))

    def test_captions_name_the_main_object(self):
        for i in range(50):
            rng = np.random.default_rng(i)
            s = sample_spec(rng, i)
            text = caption(s, rng)
            self.assertTrue(any(w in text.split() for w in COLOURS[s.main.colour][1]), text)


class AnalyzerTests(unittest.TestCase):
    def test_prompts_parse_to_their_labels(self):
        for p in eval_prompts():
            self.assertEqual(parse(p["prompt"]), {"colour": p["colour"], "shape": p["shape"], "motion": p["motion"]},
                             p["prompt"])

    def test_analyzer_reads_ground_truth_clips(self):
        prompts = eval_prompts()[::10]
        for p in prompts:
            a = analyze(render(ClipSpec.from_dict(p["spec"])).frames)
            self.assertEqual(a.colour, p["colour"], p["prompt"])
            self.assertEqual(a.motion, expected_label(p["motion"]), p["prompt"])

    def test_flat_clip_has_no_object(self):
        self.assertEqual(analyze(np.full((17, 64, 64, 3), 120, np.uint8)).motion, "none")


class LossTests(unittest.TestCase):
    def test_outlier_penalty(self):
        z = torch.randn(2, 4, 3, 8, 8) * 0.1
        self.assertLess(outlier_penalty(z).item(), 1e-3)
        z[0, 0, 0, 3, 3] = 50.0
        self.assertGreater(outlier_penalty(z).item(), 1e-3)


@unittest.skipUnless(os.environ.get("REEL_MINILM"), "set REEL_MINILM to the fetched all-minilm-l6-v2 directory")
class TextEncoderTests(unittest.TestCase):
    def test_padding_convention(self):
        from training.text_encoder import MiniLM
        enc = MiniLM(Path(os.environ["REEL_MINILM"]))
        e = enc.encode(["a red ball", ""])
        self.assertEqual(tuple(e.shape), (2, 48, 384))
        self.assertTrue(torch.all(e[0, 5:] == 0))          # [CLS] a red ball [SEP] = 5 tokens
        self.assertTrue(torch.all(e[1, 2:] == 0))          # [CLS] [SEP]
        self.assertTrue(torch.all(e[0, :5].abs().sum(-1) > 0))
        single = enc.encode(["a red ball"])
        torch.testing.assert_close(single[0], e[0], atol=1e-4, rtol=1e-4)


if __name__ == "__main__":
    unittest.main()
