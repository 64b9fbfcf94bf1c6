use nn_core::{network, Dense, Identity, Layer, Relu, Trainable};

type Sine = network![Dense<1, 16, Relu>, Dense<16, 1, Identity>];

fn main() {
    let net = Sine::zeroed();
    // The network takes one input, not two.
    let _ = net.predict(&[0.5, 1.0]);
}
