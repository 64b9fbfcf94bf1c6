//! `host-trainer`: train, evaluate, inspect and export nn-core networks.

use clap::Parser;

fn main() {
    quiet_on_broken_pipe();
    let cli = host_trainer::cli::Cli::parse();
    if let Err(error) = host_trainer::cli::run(cli) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

/// Output piped into a command that stops reading early (`host-trainer predict ... | head`)
/// ends the run quietly, as Unix tools do, instead of with a panic about the broken pipe
/// (Rust's `println!` panics when stdout is closed).
fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>().map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}
