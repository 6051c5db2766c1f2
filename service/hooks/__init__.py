"""The CDS Hooks 2.0 protocol: discovery, service calls, prefetch, feedback."""
