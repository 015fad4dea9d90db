"""The paired comparison of two scored runs (training.eval.paired)."""
import json
import tempfile
import unittest
from pathlib import Path

from training.eval.paired import compare, rows_of, sign_test
from training.world import eval_prompts


class SignTestTests(unittest.TestCase):
    def test_exact_values(self):
        self.assertEqual(sign_test(0, 0), 1.0)
        self.assertAlmostEqual(sign_test(0, 6), 2 / 64)          # 6 lost, none won: 2 * (1/2)^6
        self.assertAlmostEqual(sign_test(6, 0), 2 / 64)          # symmetric
        self.assertAlmostEqual(sign_test(1, 9), 2 * 11 / 1024)   # P(X <= 1), X ~ Bin(10, 1/2), doubled
        self.assertEqual(sign_test(5, 5), 1.0)                   # capped at 1


class CompareTests(unittest.TestCase):
    def row(self, i, seed, colour, motion):
        return {"id": i, "seed": seed, "ok_colour": colour, "ok_motion": motion, "ok_shape": None}

    def test_counts_discordant_pairs_by_prompt_and_seed(self):
        a = {(0, 1): self.row(0, 1, True, True), (1, 2): self.row(1, 2, True, False),
             (2, 3): self.row(2, 3, False, False), (9, 9): self.row(9, 9, True, True)}
        b = {(0, 1): self.row(0, 1, True, False), (1, 2): self.row(1, 2, False, True),
             (2, 3): self.row(2, 3, True, True)}
        r = compare(a, b)
        self.assertEqual(r["pairs"], 3)                          # (9, 9) has no partner
        self.assertEqual((r["colour"]["b_won"], r["colour"]["b_lost"]), (1, 1))
        self.assertEqual((r["motion"]["b_won"], r["motion"]["b_lost"]), (2, 1))
        self.assertEqual(r["shape"]["n"], 0)                     # unscored reads are left out

    def test_rows_without_seed_pair_at_the_prompts_own_seed(self):
        p = eval_prompts()[3]
        with tempfile.TemporaryDirectory() as d:
            old = Path(d) / "old.json"
            old.write_text(json.dumps({"generated": {"rows": [{"id": 3, "ok_colour": True}]}}))
            new = Path(d) / "new.json"
            new.write_text(json.dumps({"rows": [{"id": 3, "seed": p["seed"], "ok_colour": False}]}))
            self.assertEqual(set(rows_of(old)), set(rows_of(new)))


class VaeErrorsTests(unittest.TestCase):
    def test_the_error_is_split_between_the_objects_boxes_and_the_backdrop(self):
        import numpy as np
        from training.eval.vae_errors import by_frame, split_errors
        truth = {"objects": [{"motion": "right", "size": "small", "shape": "ball",
                              "frames": [{"box": [2 + t, 3, 5 + t, 6]} for t in range(3)]}]}
        frames = np.full((3, 16, 16, 3), 100, np.uint8)
        rec = frames.astype(np.float64)
        rec[1, 4, 5] += 10                      # inside frame 1's box (x 3..6, y 3..6)
        inside = split_errors(frames, rec, truth, margin=0)
        self.assertAlmostEqual(inside["box_error_share"], 1.0)
        self.assertAlmostEqual(inside["box_fraction"], 3 * 16 / (3 * 256))
        self.assertGreater(inside["psnr_boxes_perfect"], 100)
        self.assertAlmostEqual(inside["psnr"], 10 * np.log10(255 ** 2 / (100 / (3 * 256))), places=6)
        self.assertAlmostEqual(inside["objects"][0]["psnr"], inside["boxes_psnr"])
        self.assertEqual(inside["frame_sums"][1], [100.0, 16, 0.0, 240])     # the one error, in frame 1's box
        self.assertEqual(inside["frame_sums"][0], [0.0, 16, 0.0, 240])
        frame = by_frame([inside, inside])                                    # pooled: the same per-pixel error
        self.assertAlmostEqual(frame[1][1], 10 * np.log10(255 ** 2 / (100 / 16)))
        self.assertAlmostEqual(frame[1][0], 10 * np.log10(255 ** 2 / (100 / 256)))
        self.assertGreater(frame[0][0], 100)
        rec[1, 4, 5] -= 10
        rec[0, 12, 12] += 10                    # on the backdrop, a margin of 2 does not reach it
        outside = split_errors(frames, rec, truth, margin=2)
        self.assertAlmostEqual(outside["box_error_share"], 0.0)
        self.assertAlmostEqual(outside["psnr_boxes_perfect"], outside["psnr"])


class ReadableTests(unittest.TestCase):
    def test_misreads_count_what_each_wanted_value_was_read_as(self):
        from training.eval.readable import misreads
        row = lambda w, m, ok: {"wanted": {"colour": "red", "motion": "left", "shape": w},
                                "measured": {"colour": "red", "motion": "left", "shape": m},
                                "ok_colour": True, "ok_motion": True, "ok_shape": ok}
        rows = [row("ring", "ball", False), row("ring", "ball", False), row("star", "ball", False),
                row("cube", "cube", True), row(None, "ball", None)]
        self.assertEqual(misreads(rows), {"colour": {}, "motion": {}, "shape": {"ring -> ball": 2, "star -> ball": 1}})

    def test_the_committed_autoencoders_round_trips_are_scored_beside_the_renderings(self):
        import numpy as np
        import torch
        from diffusers import AutoencoderKLWan
        from training.eval.benchmark import round_trips
        from training.eval.readable import readable, renders
        prompts = eval_prompts()[:4]
        torch.manual_seed(0)
        vae = AutoencoderKLWan.from_pretrained(Path(__file__).parents[2] / "models/reel-t2v-default/vae").eval()
        truth = renders(prompts)
        self.assertEqual(truth.shape, (4, 17, 64, 64, 3))
        rec, db = round_trips(vae, truth, batch=3)               # batches that do not divide the clips
        self.assertEqual((rec.shape, rec.dtype), (truth.shape, truth.dtype))
        self.assertTrue(((db > 18) & (db < 45)).all(), db)       # a real round trip: near the clips, not them
        again, _ = round_trips(vae, truth[2:3])
        # each clip's round trip is its own (within a level: a batch's size can move the last bits before rounding)
        self.assertLessEqual(np.abs(again[0].astype(int) - rec[2]).max(), 1)
        r = readable(vae, prompts)
        self.assertEqual(r["rendered"]["all"]["n"], 4)
        self.assertEqual((r["rendered"]["all"]["colour"], r["rendered"]["all"]["motion"]), (1.0, 1.0))
        self.assertEqual(len(r["rows"]), 4)
        self.assertAlmostEqual(r["round_trip_psnr"]["mean"], float(db.mean()), places=4)
        self.assertEqual(r["round_trip"]["all"]["colour"], sum(x["ok_colour"] for x in r["rows"]) / 4)


if __name__ == "__main__":
    unittest.main()
