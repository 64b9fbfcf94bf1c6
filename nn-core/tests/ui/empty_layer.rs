use nn_core::{Dense, Relu};

// A layer needs at least one input: rejected by a const assertion (evaluated when the
// layer is built; in a const item that is at compile time, otherwise at monomorphization,
// which `cargo build` reports and `cargo check` does not).
const EMPTY: Dense<0, 4, Relu> = Dense::new([[]; 4], [0.0; 4]);

fn main() {
    let _ = EMPTY;
}
