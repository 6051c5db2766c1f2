"""After the callback Bedside holds no EHR token: not in logs, not in the shared state, not in
the database, not in the browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.world import World, card_context, sign_in


async def test_access_token_is_not_kept_anywhere(
    basic_world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    done = await sign_in(basic_world, card_context(basic_world, "test-guideline"))
    assert done.status_code == 303
    (token,) = basic_world.sim_state.access_tokens
    assert token not in caplog.text
    state = basic_world.runtime.state._values  # type: ignore[attr-defined]
    assert all(token.encode() not in value for _, value in state.values())
    await basic_world.runtime.engine.dispose()
    for database in tmp_path.rglob("*.db"):
        assert token.encode() not in database.read_bytes()
    page = await basic_world.browser.get("https://bedside.test" + done.headers["location"])
    assert token not in page.text
    assert all(token not in value for value in basic_world.browser.cookies.values())
