//! Train XOR with nn-core alone (per-sample backprop, plain SGD), save it as a weight file,
//! load it back, and check the file's own test vectors.
//!
//! `cargo run -p nn-core --example xor [OUT.nnw]`

use nn_core::{
    Dense, Init, Layer, LayerViewMut, Loss, Metadata, Sigmoid, Tanh, Trainable, WeightFile, encode,
    encoded_len, network,
};
use rand_core::SeedableRng;

type Xor = network![Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid>];

const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const TARGETS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "target/xor.nnw".into());
    let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
    let mut net = Xor::init(&mut rng, Init::GlorotUniform);
    let mut cache = Xor::new_cache();
    let learning_rate = 0.5;
    for epoch in 0..=2000 {
        let mut grads = Xor::zeroed();
        let mut loss = 0.0;
        for (x, t) in INPUTS.iter().zip(&TARGETS) {
            loss += net.accumulate_gradients(x, t, Loss::BinaryCrossEntropy, &mut cache, &mut grads);
        }
        for layer in 0..Xor::LAYER_COUNT {
            let (Some(p), Some(g)) = (net.layer_mut(layer), grads.layer_mut(layer)) else {
                continue;
            };
            let params = p.weights.iter_mut().chain(p.bias.iter_mut());
            for (p, g) in params.zip(g.weights.iter().chain(g.bias.iter())) {
                *p -= learning_rate * g / INPUTS.len() as f32;
            }
        }
        if epoch % 500 == 0 {
            println!("epoch {epoch:>4}  loss {:.5}", loss / INPUTS.len() as f32);
        }
    }

    let outputs: Vec<f32> = INPUTS.iter().flat_map(|x| net.predict(x)).collect();
    let meta = Metadata {
        name: "xor",
        test_inputs: INPUTS.as_flattened(),
        test_outputs: &outputs,
        ..Metadata::default()
    };
    let mut bytes = vec![0; encoded_len(&net, &meta)?];
    encode(&net, &meta, &mut bytes)?;
    std::fs::write(&out, &bytes)?;
    println!(
        "wrote {out} ({} bytes, {} parameters)",
        bytes.len(),
        Xor::PARAM_COUNT
    );

    let file = WeightFile::parse_exact(&bytes)?;
    let loaded: Xor = file.to_network()?;
    println!("{:<10} {:>9} {:>9}", "input", "predicted", "from file");
    let mut mismatches = 0;
    for index in 0..file.test_vector_count() {
        let Some((x, expected)) = file.test_vector(index) else {
            continue;
        };
        let x = [x.get(0).unwrap_or(0.0), x.get(1).unwrap_or(0.0)];
        let y = loaded.predict(&x)[0];
        let stored = expected.get(0).unwrap_or(f32::NAN);
        mismatches += usize::from(y.to_bits() != stored.to_bits());
        println!("{:<10} {y:>9.4} {stored:>9.4}", format!("{x:?}"));
    }
    println!("layers {}  mismatches={mismatches}", file.layers());
    if mismatches > 0 {
        return Err("loaded network disagrees with the stored test vectors".into());
    }
    Ok(())
}
