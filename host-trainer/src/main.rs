//! `host-trainer`: the command-line trainer (subcommands arrive with the host-trainer issue).

fn main() {
    eprintln!(
        "host-trainer {}: training is not built yet",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
