//! `host-trainer bench`: training throughput on the example networks.

use crate::error::Error;

/// Options of `host-trainer bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Prints samples per second for each case.
///
/// # Errors
/// None yet.
pub fn run(_args: &BenchArgs) -> Result<(), Error> {
    Err(Error::Config("bench: not written yet".into()))
}
