#!/usr/bin/env python3
"""Writes the two real photographs the upsample plugin tests film
(Tests/UpsamplePluginTests/Fixtures): scikit-image's astronaut (NASA, public
domain) and coffee (Rachel Michetti, CC0), reduced with Pillow's Lanczos so the
committed files stay small. The tests pan and zoom over them with the ffmpeg
CLI to make real short videos.

  python3 tools/parity/upsample_plugin_photos.py
"""
import os

from PIL import Image
from skimage import data

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "UpsamplePluginTests", "Fixtures")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, size in (("astronaut", (192, 192)), ("coffee", (192, 128))):
        img = Image.fromarray(getattr(data, name)()).convert("RGB").resize(size, Image.LANCZOS)
        path = os.path.join(OUT, name + ".png")
        img.save(path, optimize=True)
        print(path, img.size, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
