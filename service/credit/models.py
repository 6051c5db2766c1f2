"""ORM models of learning cycles and the credit ledger (owned by the credit package)."""
