"""WCAG AA (4.5:1) for every badge, chip, button, alert and toast colour pair in the stylesheets, and for
status badges in any colour a store picks.

The contrast formula is written here from WCAG 2.1 (relative luminance of sRGB, (L1 + 0.05) / (L2 + 0.05)),
not imported from the app, so the test checks the app's colours independently of its own arithmetic.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.web.colors import badge_style

CSS_DIR = Path(__file__).resolve().parents[2] / "app" / "static" / "css"
AA = 4.5
# Parts of the interface that carry text on their own background.
TEXT_ON_FILL = re.compile(
    r"\.[\w-]*(badge|chip|button|btn|alert|toast|tag|pill|submit|notice)|\.abc-\w|a\[aria-current\]"
)
# The default status colours of a new store (migrations/tenant …02_36…) and a sweep of the colour wheel.
STATUS_COLORS = ["#6366f1", "#f59e0b", "#0ea5e9", "#8b5cf6", "#10b981", "#ef4444", "#ffff00", "#ffffff", "#000000"]
STATUS_COLORS += [f"#{r:02x}{g:02x}{b:02x}" for r in (0, 128, 255) for g in (0, 128, 255) for b in (0, 128, 255)]


def channel(value: int) -> float:
    s = value / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> float:
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def parse_color(text: str, over: tuple[int, int, int] = (255, 255, 255)) -> tuple[int, int, int] | None:
    text = text.strip().lower()
    if text in ("#fff", "white"):
        return (255, 255, 255)
    if text in ("#000", "black"):
        return (0, 0, 0)
    if m := re.fullmatch(r"#([0-9a-f]{3})", text):
        return tuple(int(c * 2, 16) for c in m.group(1))  # type: ignore[return-value]
    if m := re.fullmatch(r"#([0-9a-f]{6})", text):
        h = m.group(1)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    if m := re.fullmatch(r"rgba?\(([^)]*)\)", text):
        parts = [p.strip() for p in m.group(1).replace("/", ",").split(",")]
        rgb = [int(float(p)) for p in parts[:3]]
        alpha = float(parts[3]) if len(parts) > 3 else 1.0
        return tuple(round(c * alpha + o * (1 - alpha)) for c, o in zip(rgb, over, strict=True))  # type: ignore[return-value]
    return None


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        props = {}
        for decl in body.split(";"):
            if ":" in decl:
                name, value = decl.split(":", 1)
                props[name.strip().lower()] = value.strip()
        found.append((selector.strip(), props))
    return found


def variables(all_rules: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    return {
        k: v for selector, props in all_rules if selector == ":root" for k, v in props.items() if k.startswith("--")
    }


def resolve(value: str, names: dict[str, str]) -> str:
    for _ in range(5):
        value = re.sub(r"var\((--[\w-]+)\)", lambda m: names.get(m.group(1), m.group(0)), value)
    return value.replace("!important", "").strip()


def pairs() -> list[tuple[str, str, str, str]]:
    """(file, selector, foreground, background) for each text-on-fill rule naming a colour."""
    found = []
    for path in sorted(CSS_DIR.glob("*.css")):
        all_rules = rules(path.read_text(encoding="utf-8"))
        names = variables(all_rules)
        text, surface = names.get("--text", "#111827"), names.get("--surface", "#ffffff")
        own = {selector: props for selector, props in all_rules}
        for selector, props in all_rules:
            if not {"background", "background-color", "color"} & set(props):
                continue
            # A modifier (.toast-error) keeps its base's (.toast) text colour unless it sets one.
            base = own.get(re.sub(r"^(\.[a-z]+)-[\w-]+$", r"\1", selector), {}) if "-" in selector else {}
            props = {**{k: v for k, v in base.items() if k == "color"}, **props}
            if not TEXT_ON_FILL.search(selector) or ":hover" in selector or ":focus" in selector:
                continue
            background = props.get("background-color") or props.get("background")
            color = props.get("color")
            if not background and not color:
                continue
            bg = resolve(background or surface, names).split()[0] if background else resolve(surface, names)
            fg = resolve(color or text, names)
            if background in ("none", "transparent") or bg in ("none", "transparent"):
                bg = resolve(surface, names)
            if parse_color(bg) is None or parse_color(fg) is None:
                continue  # gradients, currentColor, inherit: nothing to compute
            found.append((path.name, selector, fg, bg))
    return found


def test_the_stylesheets_have_colour_pairs_to_check() -> None:
    assert len(pairs()) >= 10  # the parser found the badges and buttons (a broken parser must not pass)


@pytest.mark.parametrize(("sheet", "selector", "fg", "bg"), pairs(), ids=lambda v: str(v)[:40])
def test_every_badge_chip_and_button_reads_at_aa(sheet, selector, fg, bg) -> None:
    fill = parse_color(bg)
    assert fill is not None
    measured = ratio(parse_color(fg, over=fill), fill)  # type: ignore[arg-type]
    assert measured >= AA, f"{sheet} {selector}: {fg} on {bg} is {measured:.2f}:1"


@pytest.mark.parametrize("color", STATUS_COLORS)
def test_status_badges_read_at_aa_whatever_colour_the_store_picks(color) -> None:
    style = dict(part.split(": ") for part in badge_style(color).split("; "))
    measured = ratio(parse_color(style["color"]), parse_color(style["background"]))  # type: ignore[arg-type]
    assert measured >= AA, f"status colour {color}: {style} is {measured:.2f}:1"


def test_a_colour_that_is_not_hex_gets_the_readable_default() -> None:
    assert badge_style("red; background: url(x)") == badge_style("#6b7280")


@pytest.mark.parametrize("sheet", sorted(p.name for p in CSS_DIR.glob("*.css")))
def test_body_and_muted_text_read_at_aa_on_the_page_and_on_cards(sheet) -> None:
    names = variables(rules((CSS_DIR / sheet).read_text(encoding="utf-8")))
    for fg in ("--text", "--muted"):
        for bg in ("--bg", "--surface"):
            if fg in names and bg in names:
                fore, back = parse_color(resolve(names[fg], names)), parse_color(resolve(names[bg], names))
                assert fore and back and ratio(fore, back) >= AA, f"{sheet}: {fg} on {bg}"
