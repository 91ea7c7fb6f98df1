"""The footer dims keys in place: stepping to an end and back does not
rebuild the key widgets, and rebuilds do not leave bindings behind
(Textualize/textual#6666: each rebuilt FooterKey stayed bound to the
footer's ``compact`` reactive)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import make_app
from lstm_tui.tui.footer import KeysFooter

SIZE = (100, 30)


def compact_watchers(footer: KeysFooter) -> int:
    return len(getattr(footer, "__watchers", {}).get("compact", []))


async def test_stepping_to_the_ends_does_not_rebuild_the_footer():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)
        built = footer.recompose_count
        watchers = compact_watchers(footer)
        for _ in range(50):
            await pilot.press("end")
            await pilot.press("home")
        await pilot.pause()
        assert footer.recompose_count == built
        assert compact_watchers(footer) == watchers
        back = next(k for k in app.screen.query(FooterKey) if k.key == "left")
        assert back.has_class("-disabled")  # at t = 0
        await pilot.press("end")
        await pilot.pause()
        assert not back.has_class("-disabled")


async def test_rebuilds_do_not_keep_old_key_widgets():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)
        keys = len(app.screen.query(FooterKey))
        for _ in range(20):
            footer.show_command_palette = not footer.show_command_palette  # changes what is shown
            app.screen.refresh_bindings()
            await pilot.pause()
        assert footer.recompose_count >= 20
        assert compact_watchers(footer) <= keys
