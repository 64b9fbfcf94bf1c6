//! The desktop half: training nn-core networks from data and exporting weight files.
//!
//! Until its issue lands this crate only re-exports nn-core; see the README for the plan.

pub use nn_core;
