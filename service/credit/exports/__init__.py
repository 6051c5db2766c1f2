"""Pure renderers of the learner's outputs and the admin reports: certificate PDFs
(`certificates`), the ledger CSV (`ledger_csv`), xAPI statements (`xapi`), Open Badges and
CLR credentials (`credentials`, signed with keys passed in) and the PARS files (`pars`).

They read no database and import no session: `service/credit/records.py` loads what they
render, and the use cases (`outputs.py`, `credentials.py`, `reporting.py`) audit each output
(`tests/credit/test_exports_purity.py` keeps it so).
"""
