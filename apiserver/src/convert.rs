//! Conversion between stored and served forms (core/v1 Events ⇄ events.k8s.io/v1 Events).
