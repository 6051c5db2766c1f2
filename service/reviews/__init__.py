"""The review queue: each case question a learner missed or marked unsure, asked again when FSRS
says it is due until answered well twice in a row (`service/reviews/service.py`; the pure
scheduling in `scheduler.py`)."""
