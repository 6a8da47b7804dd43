//! The scheduling framework: one scheduling cycle over a snapshot (`cycle.rs`), which of a
//! profile's plugins it runs (`plugin_set.rs`), and the `FailedScheduling` message built
//! from every node's rejection (`fit_error.rs`), as upstream's `FitError` does.

mod cycle;
pub mod fit_error;
mod fits;
mod plugin_set;
pub mod preemption;

pub use cycle::{Algorithm, Scheduled, Snapshot};
pub use plugin_set::NOT_YET_RUN;
