"""Named colours and backgrounds: the world's vocabulary of appearance."""
from __future__ import annotations

# Ten object colours: sRGB in [0, 1], with the synonyms captions may use.
COLOURS: dict[str, tuple[tuple[float, float, float], list[str]]] = {
    "red":    ((0.86, 0.10, 0.12), ["red", "crimson", "scarlet"]),
    "orange": ((0.98, 0.50, 0.05), ["orange", "tangerine"]),
    "yellow": ((0.98, 0.86, 0.10), ["yellow", "golden", "lemon"]),
    "green":  ((0.12, 0.70, 0.20), ["green", "emerald"]),
    "cyan":   ((0.10, 0.80, 0.85), ["cyan", "turquoise"]),
    "blue":   ((0.12, 0.25, 0.90), ["blue", "cobalt"]),
    "purple": ((0.55, 0.18, 0.80), ["purple", "violet"]),
    "pink":   ((0.98, 0.45, 0.72), ["pink", "rose"]),
    "white":  ((0.97, 0.97, 0.95), ["white", "snowy"]),
    "black":  ((0.07, 0.07, 0.08), ["black", "jet-black"]),
}
COLOUR_NAMES = list(COLOURS)

# Backgrounds: the phrases captions use, the floor height (0 = top, 1 = bottom of the world) that bouncing
# and falling objects land on, and the colours that would not stand out against them.
BACKGROUNDS: dict[str, dict] = {
    "sky":     {"phrases": ["in a blue sky", "against a clear sky", "across the sky"], "floor": 0.93,
                "avoid": {"blue", "cyan", "white"}},
    "grass":   {"phrases": ["on green grass", "across a grassy field", "over a meadow"], "floor": 0.86,
                "avoid": {"green", "cyan"}},
    "sea":     {"phrases": ["over the sea", "above the ocean waves", "by the water"], "floor": 0.86,
                "avoid": {"blue", "cyan"}},
    "sand":    {"phrases": ["on a sandy beach", "across the sand", "in the desert"], "floor": 0.86,
                "avoid": {"yellow", "orange", "white"}},
    "night":   {"phrases": ["at night", "under a starry night sky", "in the dark night"], "floor": 0.9,
                "avoid": {"black", "blue", "purple"}},
    "studio":  {"phrases": ["in a grey studio", "on a plain studio backdrop", "in an empty studio"], "floor": 0.88,
                "avoid": {"white"}},
    "warm":    {"phrases": ["against a warm peach backdrop", "in a warm studio", "on a soft peach background"],
                "floor": 0.88, "avoid": {"orange", "pink", "white", "yellow"}},
    "checker": {"phrases": ["on a checkered floor", "over a chequered tiled floor", "on a checkerboard"],
                "floor": 0.88, "avoid": {"white", "black"}},
    "stripes": {"phrases": ["in front of a striped wall", "against striped wallpaper", "before a striped backdrop"],
                "floor": 0.88, "avoid": {"white"}},
}
BACKGROUND_NAMES = list(BACKGROUNDS)


def allowed_colours(background: str) -> list[str]:
    return [c for c in COLOUR_NAMES if c not in BACKGROUNDS[background]["avoid"]]
