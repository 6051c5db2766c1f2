"""The EHR registry: which EHRs may call us, with which keys, tenant, FHIR base and client."""
