"""ORM models of the SMART app (none yet: sessions live in the shared state store)."""
