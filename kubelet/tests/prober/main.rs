//! The kubelet's prober: handlers against real local servers, workers in paused time.

mod fake;
mod handlers;
mod http;
mod lifecycle;
mod pods;
mod workers;
