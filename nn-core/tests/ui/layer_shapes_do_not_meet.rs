use nn_core::{network, Dense, Identity, Layer, Relu, Trainable};

// The first layer has 16 outputs, the second takes 8 inputs.
type Broken = network![Dense<1, 16, Relu>, Dense<8, 1, Identity>];

fn main() {
    let net = Broken::zeroed();
    let _ = net.predict(&[0.5]);
}
