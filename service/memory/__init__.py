"""Learner memory: issued cards, their feedback, and each learner's state as the hook sees it.
`LearnerMemory` is the face the hook service uses; see service/memory/learners.py."""

from service.memory.feedback import FeedbackEvent
from service.memory.learners import LearnerMemory
from service.memory.recorder import IssuedCardRecord

__all__ = ["FeedbackEvent", "IssuedCardRecord", "LearnerMemory"]
