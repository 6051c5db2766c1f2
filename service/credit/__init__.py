"""Learning cycles, credit rules, the ledger, transcripts, certificates and exports."""
