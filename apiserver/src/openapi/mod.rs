//! OpenAPI v2 and v3 documents built from k8s-openapi schemas, and schema-driven field validation.
