"""The SMART on FHIR app: launch, callback, session, learn/reflect pages, learner API."""
