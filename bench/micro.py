"""In-process micro-benchmarks (no HTTP, no wrk): where a hook call's time goes, stage by
stage, against the parse floor (orjson alone); the content index build; and the cost that
recording issued cards and reading the learner's state add to a call.

The stages call the same functions `service/hooks/service.py: handle_hook` calls, in the same
order, on a runtime built exactly as a worker builds it (`service/app.py: running_worker`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from statistics import mean, median
from typing import Any

import orjson

from bench.bodies import HookBody, standard_bodies
from bench.harness import Harness
from bench.servers import BedsideSite, prepare_site


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(median(ordered) * 1000, 4),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 4),
        "mean_ms": round(mean(ordered) * 1000, 4),
        "n": len(ordered),
    }


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Per-call timings of a synchronous callable (one warm-up call first)."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return _stats(samples)


async def atimed(fn: Callable[[], Awaitable[object]], repeat: int) -> dict[str, float]:
    """Per-call timings of an async callable (one warm-up call first)."""
    await fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return _stats(samples)


def _settings(site: BedsideSite) -> Any:
    from service.settings import Settings

    return Settings(
        data_dir=site.data_dir,
        database_url=site.database_url,
        public_url="http://127.0.0.1:9",
        evaluation_date="2021-04-01",
        secret_key=secrets.token_urlsafe(48),
        log_level="WARNING",
    )


async def _caller(runtime: Any, harness: Harness) -> Any:
    from service.ehr.auth import VerifiedCaller

    await asyncio.sleep(0.05)  # subscribed: the worker keeps learner states from here on
    registration = (await runtime.registry.by_issuer(harness.ehr.issuer))[0]
    return VerifiedCaller(
        issuer=registration.issuer, tenant=None, jti="bench", registration=registration
    )


async def _stages(
    runtime: Any, caller: Any, body: HookBody, repeat: int, tokens: list[str]
) -> dict[str, Any]:
    from service.cards import (
        FatiguePolicy,
        LearnerState,
        choose,
        facts_from_resources,
        match,
        observe_practice,
        resources_from_prefetch,
        select,
    )
    from service.cards import resources_from_bundle as from_bundle
    from service.cards.measures import PracticeObservation
    from service.hooks import service as hooks
    from service.hooks.discovery import SERVICES_BY_ID
    from service.hooks.schemas import CardsResponse
    from service.identity import learner_key
    from service.memory.state import load_learner_state

    service = SERVICES_BY_ID[body.service_id]
    call = hooks.parse_call(body.body, service)
    now = runtime.clock()
    drafts = from_bundle(getattr(call.context, "draft_orders", None) or {})
    prefetch = call.request.prefetch or {}

    def facts() -> Any:
        return facts_from_resources(
            resources_from_prefetch(prefetch),
            at=now.date(),
            draft_orders=drafts,
            observations=runtime.content.observation_codes,  # as read_call reads them
        )

    patient = facts()
    learner = learner_key(runtime.secret, caller.issuer, caller.tenant, call.context.user_id)
    empty = LearnerState(
        recently_shown={},
        dismissed=frozenset(),
        snoozed_until={},
        learned=frozenset(),
        specialty=None,
        profession=None,
    )
    policy = FatiguePolicy(
        max_cards=runtime.settings.max_cards, repeat_window_days=runtime.settings.repeat_window_days
    )
    matches = match(runtime.content, patient, hook=service.hook, at=now.date())
    chosen = select(matches, empty, policy, now=now)

    issue = hooks.Issue(service, call.request.hook_instance, caller, learner, now)
    # what a call's measures saw (three, as on an opioid order), counted for new patients
    observed = observe_practice(runtime.content, patient, hook=service.hook, at=now.date()) or (
        PracticeObservation("bench-item", True),
        PracticeObservation("bench-other", False),
        PracticeObservation("bench-third", True),
    )
    patients = (f"Patient/bench-{n}" for n in itertools.count())

    def render() -> Any:
        cards, _records = hooks.render_cards(runtime.hooks.links, issue, chosen)
        return CardsResponse.model_validate({"cards": cards}).to_wire()

    async def state() -> Any:
        async with runtime.engine.connect() as connection:
            return await load_learner_state(
                connection,
                learner,
                now=now,
                repeat_window_days=runtime.settings.repeat_window_days,
                pending=runtime.memory.recorder.pending(),
            )

    audience = f"{runtime.settings.public_url}/cds-services/{service.id}"
    token_iter = iter(tokens)
    answer = await runtime.hooks.handle_hook(service, body.body, caller)
    out: dict[str, Any] = {
        "kilobytes": round(body.kilobytes, 1),
        "resources": body.resources,
        "matches": len(matches),
        "cards": len(answer["cards"]),
        "orjson_parse": timed(lambda: orjson.loads(body.body), repeat),
        "parse_call": timed(lambda: hooks.parse_call(body.body, service), repeat),
        "facts": timed(facts, repeat),
        "match": timed(
            lambda: match(runtime.content, patient, hook=service.hook, at=now.date()), repeat
        ),
        "select": timed(lambda: select(matches, empty, policy, now=now), repeat),
        # what the hook runs: best-first with an early stop (= select(match(...)))
        "choose": timed(
            lambda: choose(
                runtime.content, patient, empty, policy, hook=service.hook, at=now.date(), now=now
            ),
            repeat,
        ),
        # practice measures, after matching on the same facts (as the hook runs them), and
        # counting what they saw (a new patient each time: no same-day repeat)
        "observe_practice": timed(
            lambda: observe_practice(runtime.content, patient, hook=service.hook, at=now.date()),
            repeat,
        ),
        # the same on facts matching has not seen (nothing reused: an upper bound; the stage
        # above reuses what the previous call left on the same facts, a lower bound; the hook
        # measured 0.02-0.07 ms between them)
        "observe_practice_cold": timed(
            lambda: observe_practice(
                runtime.content, dataclasses.replace(patient), hook=service.hook, at=now.date()
            ),
            repeat,
        ),
        "practice_count": timed(
            lambda: runtime.memory.practice.observe(
                learner, now, observed, frozenset({"bench-item"}), next(patients)
            ),
            repeat,
        ),
        "render": timed(render, repeat),
        "serialize": timed(lambda: orjson.dumps(answer), repeat),
        "learner_state": await atimed(state, repeat),
        "jwt_verify": await atimed(
            lambda: runtime.jwt.verify("Bearer " + next(token_iter), audience, "service"),
            min(repeat, len(tokens) - 1),
        ),
        "handle_hook": await atimed(
            lambda: runtime.hooks.handle_hook(service, body.body, caller), repeat
        ),
    }
    await runtime.memory.recorder.flush()
    out["learner_state_after_history"] = await atimed(state, repeat)
    # What the hook runs: the worker's copy (kept after the first read), written through.
    await runtime.memory.state_of(learner, now)
    out["learner_state_kept"] = await atimed(lambda: runtime.memory.state_of(learner, now), repeat)
    out["learner_state_write_through"] = timed(
        lambda: runtime.memory.states.shown(learner, now, ("bench-item",)), repeat
    )
    return out


def _recording_cost(stages: dict[str, Any]) -> dict[str, Any]:
    """What remembering cards and reading the learner's state add at p50 (target <= 1 ms): on
    the hook's usual path (the learner's state kept by the worker) and on a first call or
    after a change (read from the database)."""
    append = stages.get("record_append", {}).get("p50_ms", 0.0)
    kept = stages["learner_state_kept"]["p50_ms"] + stages["learner_state_write_through"]["p50_ms"]
    read = stages["learner_state_after_history"]["p50_ms"]
    return {
        "learner_state_p50_ms": kept,
        "learner_state_read_p50_ms": read,
        "record_append_p50_ms": append,
        "added_p50_ms": round(kept + append, 4),
        "added_on_a_read_p50_ms": round(read + append, 4),
    }


async def _hook_micro(harness: Harness, site: BedsideSite, repeat: int) -> dict[str, Any]:
    from service.app import running_worker
    from service.memory.recorder import IssuedCardRecord

    async with running_worker(_settings(site)) as runtime:  # as a worker runs
        caller = await _caller(runtime, harness)
        results: dict[str, Any] = {}
        for body in standard_bodies().values():
            audience = f"{runtime.settings.public_url}/cds-services/{body.service_id}"
            tokens = [harness.ehr.token(audience) for _ in range(min(repeat, 300) + 2)]
            results[body.name] = await _stages(runtime, caller, body, repeat, tokens)
        records = iter(
            [
                IssuedCardRecord(
                    uuid=uuid.uuid4(),
                    item_id="bench-item",
                    item_version="1",
                    learner="bench-learner",
                    service_id="bedside-patient-view",
                    hook="patient-view",
                    hook_instance="bench",
                    issuer=caller.issuer,
                    tenant=None,
                    issued_at=runtime.clock(),
                )
                for _ in range(2 * (repeat + 1) * len(results))
            ]
        )
        for stages in results.values():
            stages["record_append"] = timed(
                lambda: runtime.memory.recorder.record([next(records), next(records)]), repeat
            )
            stages["recording_and_learner_state"] = _recording_cost(stages)
            # issue 19's budget: measures evaluated and counted, p50 <= 0.1 ms per call (the
            # cold evaluation: a bound that holds whatever matching left to reuse)
            stages["practice_p50_ms"] = round(
                stages["observe_practice_cold"]["p50_ms"] + stages["practice_count"]["p50_ms"], 4
            )
        return results


def index_build(library_dir: Path | None, cache_dir: Path) -> dict[str, Any]:
    """Reading and validating the files (and the same from the start-up cache, as a worker's
    second start reads them) vs compiling and indexing the items."""
    from service.cards.library import BUNDLED_DIR, ContentLibrary
    from service.cards.loader import read_library

    started = time.perf_counter()
    loaded = read_library(library_dir or BUNDLED_DIR)
    read_s = time.perf_counter() - started
    read_library(library_dir or BUNDLED_DIR, cache_dir=cache_dir)  # writes the cache
    started = time.perf_counter()
    read_library(library_dir or BUNDLED_DIR, cache_dir=cache_dir)
    cached_s = time.perf_counter() - started
    started = time.perf_counter()
    library = ContentLibrary(
        loaded.items, loaded.terminology, loaded.warnings, loaded.policy, loaded.topics
    )
    build_s = time.perf_counter() - started
    return {
        "items": len(library),
        "read_validate_s": round(read_s, 3),
        "read_from_cache_s": round(cached_s, 3),
        "compile_index_s": round(build_s, 3),
        "total_s": round(read_s + build_s, 3),
    }


def run_micro(harness: Harness, library_dir: Path | None) -> dict[str, Any]:
    """Every micro-benchmark; `repeat` is small in smoke mode."""
    repeat = 20 if harness.options.smoke else 300
    site = prepare_site(harness.work_dir / "micro", harness.ehr)
    caches = harness.work_dir / "micro" / "content-cache"
    return {
        "hook": asyncio.run(_hook_micro(harness, site, repeat)),
        "signature_verify": signature_verify(repeat),
        "index_build": {
            "bundled": index_build(None, caches / "bundled"),
            f"synth-{harness.options.library_sizes[-1]}": index_build(
                library_dir, caches / "synth"
            ),
        },
    }


def signature_verify(repeat: int) -> dict[str, Any]:
    """The signature check alone, for the two algorithms CDS Hooks recommends: what the EHR's
    choice of algorithm costs every call before Bedside does any work of its own."""
    from joserfc.jwk import ECKey, RSAKey
    from joserfc.jws import JWSRegistry

    signing_input = b"x" * 600  # about a CDS Hooks JWT's header and claims
    out: dict[str, Any] = {}
    for alg, key in (
        ("ES384", ECKey.generate_key("P-384", private=True)),
        ("RS384", RSAKey.generate_key(2048, private=True)),
    ):
        algorithm = JWSRegistry.algorithms[alg]
        signature = algorithm.sign(signing_input, key)
        out[alg] = timed(partial(algorithm.verify, signing_input, signature, key), repeat)
    return out
