"""`bench.profile.summarize`: stage shares from py-spy's raw output, over the event loop
thread's samples only (py-spy itself is not needed: the input is what it writes)."""

from __future__ import annotations

from bench.profile import summarize

LOOP = "run (uvicorn/main.py:579);Runner.run (asyncio/runners.py:118)"
CALL = f"{LOOP};call_service (service/hooks/routes.py:61)"
HOOK = f"{CALL};HookService.handle_hook (service/hooks/service.py:145)"
RAW = [
    # the JWT check: 30 samples, the signature 25 of them
    f"{CALL};CallerGate.admit (service/hooks/gate.py:30) 5",
    f"{CALL};CallerGate.admit (service/hooks/gate.py:30);"
    "ESAlgorithm.verify (/venv/lib/python3.11/site-packages/joserfc/_rfc7518/jws_algs.py:171) 25",
    # the hook: 60 samples, 40 in HookService.read_call (parse 15, facts 20) and 10 choosing
    f"{CALL};HookService.handle_hook (service/hooks/service.py:147) 10",
    f"{HOOK};HookService.read_call (service/hooks/service.py:126);"
    "parse_call (service/hooks/service.py:67) 15",
    f"{HOOK};HookService.read_call (service/hooks/service.py:138);"
    "facts_from_resources (service/cards/facts.py:361) 20",
    f"{HOOK};HookService.read_call (service/hooks/service.py:130) 5",
    f"{CALL};HookService.handle_hook (service/hooks/service.py:151);"
    "choose (service/cards/ranking.py:104) 10",
    # the event loop itself, outside any call
    f"{LOOP} 10",
    # a thread that only looks busy: never counted
    "_bootstrap (threading.py:995);_connection_worker_thread (aiosqlite/core.py:59) 500",
    # a function of the same name elsewhere is not the stage
    f"{LOOP};choose (random.py:370) 5",
    "garbage without a count",
]


def test_stages_are_shares_of_the_event_loop_threads_samples() -> None:
    profile = summarize(RAW)
    assert profile.samples == 105
    assert profile.stages["call_service"] == 90
    assert profile.stages["CallerGate.admit"] == 30
    assert profile.stages["ESAlgorithm.verify"] == 25  # absolute path, matched by suffix
    assert profile.stages["HookService.handle_hook"] == 60
    assert profile.stages["HookService.read_call"] == 40
    assert profile.stages["parse_call"] == 15
    assert profile.stages["facts_from_resources"] == 20
    assert profile.stages["choose"] == 10  # not random.choose
    assert "render_cards" not in profile.stages
    assert round(profile.share("HookService.handle_hook"), 3) == round(60 / 105, 3)
    assert profile.share("render_cards") == 0.0


def test_a_stage_counts_once_per_sample_even_when_recursive() -> None:
    hook = "HookService.handle_hook (service/hooks/service.py:{})"
    recursive = f"{CALL};{hook.format(1)};{hook.format(2)} 7"
    profile = summarize([recursive])
    assert profile.samples == 7
    assert profile.stages["HookService.handle_hook"] == 7
