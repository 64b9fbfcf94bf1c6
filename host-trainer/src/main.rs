//! `host-trainer`: train, evaluate, inspect and export nn-core networks.

use clap::Parser;

fn main() {
    let cli = host_trainer::cli::Cli::parse();
    if let Err(error) = host_trainer::cli::run(cli) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
