//! The scheduling framework: what one scheduling cycle reports. `fit_error.rs` builds the
//! `FailedScheduling` message from every node's rejection, as upstream's `FitError` does.

pub mod fit_error;
