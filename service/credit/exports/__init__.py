"""Learner and admin outputs: certificates (PDF), CSV, xAPI statements, the PARS files."""
