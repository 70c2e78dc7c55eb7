"""Readable badge colours: a store's status colour as a soft tint with text dark enough for WCAG AA."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
AA = 4.5  # WCAG 2.x contrast for normal text
TINT = 0.12  # the badge's background: the colour at 12 % over the white card
FALLBACK = "#6b7280"


def _rgb(color: str) -> tuple[int, int, int]:
    match = _HEX.match((color or "").strip())
    value = match.group(1) if match else FALLBACK[1:]
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0, min(255, c))):02x}" for c in rgb)


def luminance(rgb: tuple[float, float, float]) -> float:
    """Relative luminance (WCAG 2.x, sRGB)."""
    linear = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def badge_colors(color: str) -> tuple[str, str]:
    """(background, text) for a badge in ``color``: the tint, and the colour darkened until it reads at AA."""
    base = _rgb(color)
    background = tuple(255 - (255 - c) * TINT for c in base)
    text: tuple[float, float, float] = base
    for step in range(21):  # towards black in 5 % steps; black on a light tint always passes
        text = tuple(c * (1 - step / 20) for c in base)
        if contrast(text, background) >= AA:
            break
    return _hex(background), _hex(text)


def badge_style(color: str) -> str:
    """An inline ``style`` value for a status badge (only hex digits come from the store's input)."""
    background, text = badge_colors(color)
    return f"background: {background}; color: {text}"
