"""The credit package's use cases: the one orchestrator other packages call.

Every function takes an `AsyncSession` first and only flushes; the caller's unit of work
(`SessionDep` or `service.db.engine.transaction`) commits. Learners are the pseudonymous
`learner_key` from `service.identity.learner_key`. Functions taking `rules` accept the
runtime's `CreditRules` (`runtime.credit_rules`); where it is optional the bundled defaults
apply.

Contract (keep names and shapes; the SMART app and the learner API code against them):

Profiles
- `get_profile(session, learner_key) -> LearnerProfileView`
- `update_profile(session, learner_key, ProfileUpdate, *, now=None) -> LearnerProfileView`
  (`given_name` and `family_name` are held apart; `display_name` is "Given Family", else the
  single `name` of an old profile, which board reports never split: `needs_names` and
  `name_notice` tell the learner to add both)

Learning cycles
- `start_cycle(session, *, learner_key, item: CycleItem, card_uuid: str | None, now,
  rules=None, shown_because=None) -> CycleView` (idempotent per (learner, card_uuid);
  `shown_because`: the card's why code, kept on a new cycle)
- `list_cycles(session, learner_key, status=None, *, rules=None) -> list[CycleView]`
- `get_cycle(session, learner_key, cycle_id, *, rules=None) -> CycleView` (NotFound for
  another learner's cycle)
- `update_cycle(session, learner_key, cycle_id, CyclePatch, *, rules=None, now=None)
  -> CycleView` (Conflict once claimed)

Ledger
- `claim(session, learner_key, cycle_id, *, idempotency_key, rules, now) -> ClaimResult`;
  raises `ClaimRefused` (`.reasons`, `.codes`; 422 fixable / 409 final) or `Unprocessable`
  (same key, different request). `default_idempotency_key(cycle_id)` when no header came.
- `reverse_entry(session, entry_id, *, reason, actor, rules, now) -> LedgerEntryView`
- `list_entries(session, learner_key, rules) -> list[LedgerEntryView]`
- `transcript(session, learner_key, rules) -> TranscriptView` (`totals`: one row per
  (year, credit type) with its `activities`; `by_year` and `total`: grand totals)

Learner home
- `learner_home(session, learner_key, rules, now=None) -> LearnerHome`: open cycles first
  (`pending`, `ready_to_claim`, soonest `claim_deadline` first, with `days_left`), totals by
  year and credit type, credits per month for the last 12 months, `needs_names`
- pure: `monthly_credits(entries, today, months=12) -> list[MonthCredits]`,
  `open_cycles(cycles, now) -> (pending, ready_to_claim)` of `HomeCycle`s

Requirements per license and board (service/credit/requirements.py, requirements.yaml)
- `learner_requirements(session, learner_key, rules, *, item_topics, sets=None, now=None)
  -> LearnerRequirements`: per set that applies, `earned`, `required`, `remaining`, `due`
- pure: `requirement_progress(sets, holdings, profession, entries, item_topics, today)`

Outputs (service/credit/outputs.py and credentials.py: read through records.py, rendered by
the pure renderers of service/credit/exports)
- `certificate_pdf(session, learner_key, rules, *, entry_id=None, year=None, now=None) -> bytes`
- `export_csv(session, learner_key, rules) -> str`
- `xapi_statements(session, learner_key, *, public_url) -> list[dict]`
- `open_badge_credential(session, learner_key, entry_id, *, signing_keys, rules, public_url,
  now=None) -> str` and `transcript_credential(session, learner_key, *, signing_keys, rules,
  public_url, now=None) -> str` (VC-JWT, ES384, kid of our JWKS)
- `verify_credential(token, public_jwks, *, now=None) -> CredentialReport`
"""

from __future__ import annotations

from service.credit.claims import claim, default_idempotency_key, reverse_entry
from service.credit.credentials import (
    open_badge_credential,
    transcript_credential,
    verify_credential,
)
from service.credit.cycles import get_cycle, list_cycles, start_cycle, update_cycle
from service.credit.errors import ClaimRefused
from service.credit.home import learner_home, monthly_credits, open_cycles
from service.credit.outputs import certificate_pdf, export_csv, xapi_statements
from service.credit.profiles import get_profile, update_profile
from service.credit.records import entry_view, list_entries
from service.credit.requirements import (
    LearnerRequirements,
    RequirementProgress,
    learner_requirements,
    requirement_progress,
)
from service.credit.schemas import (
    ActivityTotal,
    ClaimResult,
    CredentialReport,
    CycleItem,
    CyclePatch,
    CycleView,
    HomeCycle,
    LearnerHome,
    LearnerProfileView,
    LedgerEntryView,
    MonthCredits,
    ProfileUpdate,
    TranscriptTotal,
    TranscriptView,
)
from service.credit.transcript import transcript

__all__ = [
    "ActivityTotal",
    "ClaimRefused",
    "ClaimResult",
    "CredentialReport",
    "CycleItem",
    "CyclePatch",
    "CycleView",
    "HomeCycle",
    "LearnerHome",
    "LearnerProfileView",
    "LearnerRequirements",
    "LedgerEntryView",
    "MonthCredits",
    "ProfileUpdate",
    "RequirementProgress",
    "TranscriptTotal",
    "TranscriptView",
    "certificate_pdf",
    "claim",
    "default_idempotency_key",
    "entry_view",
    "export_csv",
    "get_cycle",
    "get_profile",
    "learner_home",
    "learner_requirements",
    "list_cycles",
    "list_entries",
    "monthly_credits",
    "open_badge_credential",
    "open_cycles",
    "requirement_progress",
    "reverse_entry",
    "start_cycle",
    "transcript",
    "transcript_credential",
    "update_cycle",
    "update_profile",
    "verify_credential",
    "xapi_statements",
]
