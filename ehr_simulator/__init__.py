"""The EHR simulator for `bedside demo` and the end-to-end tests: a package of its own.

It imports the product (it starts Bedside and registers itself as an EHR); the product never
imports it: `bedside demo` loads `ehr_simulator.cli` by name, only when the demo runs.
"""
