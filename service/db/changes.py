"""Learners whose hook-visible state a unit of work changed, announced once it commits.

The hook keeps each recent learner's state in the worker (`service/memory/cache.py`).
Writers elsewhere (feedback, a cycle's completion, the profile) mark the learner in their
session; after the commit, and only then, the sessionmaker's listener hears of it. Sooner, a
concurrent hook could re-read the old rows and keep them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

_LISTENER = "bedside.on_learners_changed"
_CHANGED = "bedside.changed_learners"


def learner_changed(session: AsyncSession, learner: str) -> None:
    """This unit of work changes what the hook knows of `learner`."""
    session.info.setdefault(_CHANGED, set()).add(learner)


def on_learners_changed(
    sessions: async_sessionmaker[AsyncSession], listener: Callable[[set[str]], None]
) -> None:
    """Call `listener` after each commit of a session from `sessions` that marked learners."""
    sessions.configure(info={_LISTENER: listener})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    listener = session.info.get(_LISTENER)
    if changed and listener is not None:
        listener(changed)
