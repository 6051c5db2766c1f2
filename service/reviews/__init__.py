"""The review queue: each case question a learner missed, asked again when FSRS says it is due
(`service/reviews/service.py`; the pure scheduling in `scheduler.py`)."""
