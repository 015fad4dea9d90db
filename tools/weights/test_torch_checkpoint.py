"""torch_checkpoint reads what torch.save writes, in both layouts, without torch.

  python3 -m unittest discover -s tools/weights     (needs torch to write the files; skipped without)
"""

import collections
import os
import pickle
import tempfile
import unittest

import numpy as np

import torch_checkpoint

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


@unittest.skipIf(torch is None, "torch is needed to write reference checkpoints")
class TorchCheckpointTests(unittest.TestCase):
    def state(self):
        g = torch.Generator().manual_seed(0)
        base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
        return collections.OrderedDict(
            dense=torch.randn(3, 4, 5, generator=g),
            transposed=base.t(),            # a strided view
            window=base[1:3, 2:5],          # an offset view sharing base's storage
            half=torch.randn(7, generator=g).half(),
            bf16=torch.randn(5, generator=g).bfloat16(),
            ints=torch.arange(5),
            param=torch.nn.Parameter(torch.randn(2, 2, generator=g)),
        )

    def roundtrip(self, zip_layout):
        sd = self.state()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ckpt.pt")
            torch.save(sd, path, _use_new_zipfile_serialization=zip_layout)
            got = torch_checkpoint.load_state_dict(path)
        self.assertEqual(list(got), list(sd))
        for k, v in sd.items():
            ref = v.detach().float().numpy() if v.dtype == torch.bfloat16 else v.detach().numpy()
            self.assertEqual(got[k].shape, ref.shape, k)
            np.testing.assert_array_equal(got[k], ref, err_msg=k)

    def test_zip_layout(self):
        self.roundtrip(True)

    def test_legacy_layout(self):
        self.roundtrip(False)

    def test_refuses_code_in_the_pickle(self):
        class Evil:
            def __reduce__(self):
                return (os.system, ("true",))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "evil.pt")
            with open(path, "wb") as f:
                for obj in (torch_checkpoint.LEGACY_MAGIC, torch_checkpoint.LEGACY_PROTOCOL, {"little_endian": True}):
                    pickle.dump(obj, f, protocol=2)
                pickle.dump({"x": Evil()}, f, protocol=2)
            with self.assertRaisesRegex(torch_checkpoint.CheckpointError, "refusing to load global"):
                torch_checkpoint.load_state_dict(path)


if __name__ == "__main__":
    unittest.main()
