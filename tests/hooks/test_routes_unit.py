"""Route helpers that are awkward to reach over a whole HTTP exchange."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from service.errors import BadRequest
from service.hooks.routes import _read_body


async def test_a_client_that_hangs_up_mid_upload_is_a_bad_request() -> None:
    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(BadRequest):
        await _read_body(request)
