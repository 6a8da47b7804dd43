//! API-level tests: a real server on a loopback port over the embedded store, driven with
//! kube-rs exactly as controllers and users drive it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

mod admission;
mod alloc;
mod controller;
mod crud;
mod defaults;
mod errors;
mod local;
mod openapi;
mod protobuf;
mod subresources;
mod validation;
mod validation_config;
mod validation_other;
mod validation_pod;
mod watch;
