"""The database schema's history: every package's ORM models gathered for alembic
(`schema.py`) and the alembic scripts (`env.py`, `versions/`). Above the domain packages, which
own their models; `service/db/migrate.py` runs these scripts."""
