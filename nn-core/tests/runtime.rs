//! The run-time path (`nn_core::runtime`): any f32 file runs with the shapes its header
//! gives, bit for bit as the typed network of that shape; a file wider than the scratch is
//! refused, naming both widths; wrong lengths are refused, never a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::runtime::{RunTime, Scratch};
use nn_core::{
    Dense, Error, Identity, Init, LeakyRelu, Metadata, Model, Path, Relu, Sigmoid, Softmax, Tanh, Trainable,
    Vector, WeightFile, encode, encoded_len, network,
};

/// Encodes `net` in a 4-byte aligned buffer (as in flash).
fn encoded<N: Trainable>(net: &N) -> (Vec<u32>, usize) {
    let meta = Metadata::default();
    let len = encoded_len(net, &meta).unwrap();
    let mut words = vec![0u32; len.div_ceil(4)];
    encode(net, &meta, &mut bytemuck::cast_slice_mut(&mut words)[..len]).unwrap();
    (words, len)
}

/// The run-time path gives `N`'s typed outputs bit for bit, borrowed or owned, on inputs
/// spread over [-3, 3), and says it is the run-time path.
fn same_bits_as_typed<N: Trainable>(seed: u64) {
    let net = N::init(&mut common::rng(seed), Init::HeUniform);
    let (words, len) = encoded(&net);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..len]).unwrap();
    let mut scratch = Scratch::<40>::new();
    let mut generic = RunTime::new(&file, &mut scratch).unwrap();
    let mut typed = file.borrow_network::<N>().unwrap();
    assert_eq!(generic.path(), Path::RunTime);
    assert_eq!(Model::path(&typed), Path::Typed);
    assert_eq!(
        (generic.input_len(), generic.output_len()),
        (Model::input_len(&typed), Model::output_len(&typed))
    );
    let mut rng = common::rng(seed + 100);
    for _ in 0..50 {
        let x = common::values(&mut rng, generic.input_len(), -3.0, 3.0, 0.0);
        let mut y_generic = vec![f32::NAN; generic.output_len()];
        let mut y_typed = vec![f32::NAN; generic.output_len()];
        assert!(generic.predict(&x, &mut y_generic));
        assert!(Model::predict(&mut typed, &x, &mut y_typed));
        let owned = net.predict(N::Input::from_slice(&x).unwrap());
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y_generic), bits(&y_typed), "{}", file.layers());
        assert_eq!(bits(&y_generic), bits(owned.as_ref()), "{}", file.layers());
    }
}

#[test]
fn every_activation_runs_bit_for_bit_as_the_typed_network() {
    same_bits_as_typed::<network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>]>(1);
    same_bits_as_typed::<network![Dense<13, 16, Tanh>, Dense<16, 8, LeakyRelu>, Dense<8, 3, Softmax>]>(2);
    same_bits_as_typed::<network![Dense<40, 9, Sigmoid>, Dense<9, 1, Sigmoid>]>(3);
    same_bits_as_typed::<network![Dense<5, 7, Identity>, Dense<7, 2, Tanh>]>(4);
    // Eight layers, odd widths (every remainder of the four-row and eight-input blocks).
    same_bits_as_typed::<
        network![
            Dense<11, 9, Relu>,
            Dense<9, 10, Tanh>,
            Dense<10, 3, Relu>,
            Dense<3, 33, Sigmoid>,
            Dense<33, 5, LeakyRelu>,
            Dense<5, 17, Relu>,
            Dense<17, 6, Identity>,
            Dense<6, 4, Softmax>
        ],
    >(5);
}

#[test]
fn a_file_wider_than_the_scratch_is_refused_naming_both_widths() {
    type Net = network![Dense<3, 9, Relu>, Dense<9, 2, Identity>];
    let net = Net::init(&mut common::rng(7), Init::GlorotUniform);
    let (words, len) = encoded(&net);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..len]).unwrap();
    assert_eq!(file.widest_layer(), 9);
    let mut small = Scratch::<8>::new();
    let err = RunTime::new(&file, &mut small).unwrap_err();
    assert_eq!(
        err,
        Error::OverCapacity {
            widest: 9,
            capacity: 8
        }
    );
    assert_eq!(
        err.to_string(),
        "the model's widest layer has 9 units, this build's run-time path holds 8"
    );
    let mut exact = Scratch::<9>::new();
    assert!(RunTime::new(&file, &mut exact).is_ok());
    assert_eq!(Scratch::<9>::BYTES, 72);
}

#[test]
fn wrong_lengths_are_refused_and_leave_the_output_alone() {
    type Net = network![Dense<3, 4, Relu>, Dense<4, 2, Identity>];
    let net = Net::init(&mut common::rng(8), Init::GlorotUniform);
    let (words, len) = encoded(&net);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..len]).unwrap();
    let mut scratch = Scratch::<4>::new();
    let mut generic = RunTime::new(&file, &mut scratch).unwrap();
    let mut typed = file.borrow_network::<Net>().unwrap();
    let models: [&mut dyn Model; 2] = [&mut generic, &mut typed];
    for model in models {
        let mut y = [7.0f32; 3];
        assert!(!model.predict(&[1.0, 2.0], &mut y[..2]), "short input");
        assert!(!model.predict(&[1.0, 2.0, 3.0, 4.0], &mut y[..2]), "long input");
        assert!(!model.predict(&[1.0, 2.0, 3.0], &mut y), "long output");
        assert_eq!(y, [7.0; 3]);
        assert!(model.predict(&[1.0, 2.0, 3.0], &mut y[..2]));
    }
}
