//! The int8 model kind: files round-trip, the typed and run-time-shaped networks give the
//! same bits, the layout is the one documented, and every malformed value is refused with
//! a message that says where.

#![cfg(feature = "int8")] // reading int8 files needs the feature (on by default)
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::quant::Requantizer;
use nn_core::{
    Dense, Error, Identity, Int8LayerParams, Int8Model, Int8Stage, Layer, Metadata, QuantParams, Relu,
    Softmax, Tanh, WeightFile, encode_int8, encoded_len_int8, network,
};
use rand_core::Rng;

type Net = network![Dense<3, 5, Relu>, Dense<5, 4, Identity>, Dense<4, 2, Softmax>];
type Other = network![Dense<3, 5, Relu>, Dense<5, 3, Identity>, Dense<3, 2, Softmax>];

/// The parameters of a random int8 network of shape `Net`, owned.
struct Params {
    weights: [Vec<i8>; 3],
    bias: [Vec<i32>; 3],
    multiplier: [Vec<i32>; 2],
    shift: [u8; 2],
    outputs: [QuantParams; 2],
    scale: Vec<f32>,
}

impl Params {
    fn random(seed: u64) -> Params {
        let mut rng = common::rng(seed);
        let shapes = [(3, 5), (5, 4), (4, 2)];
        let mut i8s = |n: usize| -> Vec<i8> { (0..n).map(|_| rng.next_u32() as i8).collect() };
        let weights = shapes.map(|(i, o)| i8s(i * o));
        let mut rng = common::rng(seed + 1);
        let bias = shapes.map(|(_, o)| {
            (0..o)
                .map(|_| (rng.next_u32() % 20_000) as i32 - 10_000)
                .collect()
        });
        let shift = [5u8, 6];
        let multiplier = [5, 4].map(|o: usize| -> Vec<i32> {
            (0..o)
                .map(|_| {
                    let real = f64::from(common::uniform(&mut rng, 0.0005, 0.005));
                    Requantizer::with_shift(real, 5).unwrap().multiplier
                })
                .collect()
        });
        Params {
            weights,
            bias,
            multiplier,
            shift,
            outputs: [
                QuantParams {
                    scale: 0.05,
                    zero_point: -100,
                },
                QuantParams {
                    scale: 0.1,
                    zero_point: 7,
                },
            ],
            scale: vec![0.0004, 0.0007],
        }
    }

    fn model(&self) -> Int8Model<'_> {
        let spec = |i, o, a| nn_core::LayerSpec {
            inputs: i,
            outputs: o,
            activation: a,
        };
        let specs = [
            spec(3, 5, nn_core::Activation::Relu),
            spec(5, 4, nn_core::Activation::Identity),
            spec(4, 2, nn_core::Activation::Softmax),
        ];
        let mut layers = heapless::Vec::new();
        for (l, spec) in specs.into_iter().enumerate() {
            let stage = if l < 2 {
                Int8Stage::Requantize {
                    multiplier: &self.multiplier[l],
                    shift: self.shift[l],
                    output: self.outputs[l],
                    lookup: None,
                }
            } else {
                Int8Stage::Dequantize { scale: &self.scale }
            };
            let _ = layers.push(Int8LayerParams {
                spec,
                weights: &self.weights[l],
                bias: &self.bias[l],
                stage,
            });
        }
        Int8Model {
            rules: nn_core::Int8Rules::NnCore,
            rounding: nn_core::tflm::Rounding::Double,
            input_tables: None,
            input: QuantParams {
                scale: 0.02,
                zero_point: -3,
            },
            layers,
        }
    }
}

/// Three test inputs and the run-time-shaped model's outputs for them.
fn vectors(model: &Int8Model<'_>) -> (Vec<f32>, Vec<f32>) {
    let inputs = vec![0.5, -1.0, 2.0, 0.0, 0.1, -0.3, 3.0, 3.0, -3.0];
    let mut outputs = vec![];
    for x in inputs.chunks(3) {
        let (mut a, mut b, mut y) = ([0i8; 8], [0i8; 8], [0.0f32; 2]);
        model.predict(x, &mut a, &mut b, &mut y).unwrap();
        outputs.extend_from_slice(&y);
    }
    (inputs, outputs)
}

/// The encoded file in a 4-byte aligned buffer (as in flash).
fn encoded(model: &Int8Model<'_>) -> (Vec<u32>, usize) {
    let (inputs, outputs) = vectors(model);
    let meta = Metadata {
        name: "int8-test",
        test_inputs: &inputs,
        test_outputs: &outputs,
        ..Metadata::default()
    };
    let len = encoded_len_int8(model, &meta).unwrap();
    let mut words = vec![0u32; len.div_ceil(4)];
    let written = encode_int8(model, &meta, &mut bytemuck::cast_slice_mut(&mut words)[..len]).unwrap();
    assert_eq!(written, len);
    (words, len)
}

fn bytes(words: &[u32], len: usize) -> &[u8] {
    &bytemuck::cast_slice(words)[..len]
}

/// Offset of the parameter section, from FORMAT.md: the header, padded to 4, then (no
/// normalization) the parameters; after them 3 vectors of 3 + 2 f32 and the CRC.
const PARAMS_LEN: usize = 8 + (16 + 20 + 20 + 12) + (20 + 16 + 16 + 12) + (8 + 8 + 8);

fn params_offset(len: usize) -> usize {
    len - 4 - 3 * 5 * 4 - PARAMS_LEN
}

#[test]
fn int8_files_round_trip_and_typed_and_view_forwards_agree_bit_for_bit() {
    for seed in 0..20 {
        let params = Params::random(seed * 10);
        let model = params.model();
        let (words, len) = encoded(&model);
        let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
        assert_eq!(file.kind(), nn_core::ModelKind::Int8);
        assert_eq!(file.as_bytes()[4], 2, "int8 files are format version 2");
        assert_eq!(
            file.int8_model().unwrap(),
            model,
            "what was written is what is read"
        );
        assert_eq!(model.parameter_bytes(), PARAMS_LEN);
        assert_eq!(file.layers().to_string(), "3-5 relu-4 linear-2 softmax");
        let typed = file.borrow_int8::<Net>().unwrap();
        for v in 0..file.test_vector_count() {
            let (input, expected) = file.test_vector(v).unwrap();
            let mut x = [0.0; 3];
            input.copy_to(&mut x);
            let y = typed.predict(&x);
            let expected: Vec<f32> = expected.iter().collect();
            assert_eq!(
                y.map(f32::to_bits).to_vec(),
                expected.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        // The file holds what the documented layout says, where it says.
        let at = params_offset(len);
        let b = file.as_bytes();
        let word = |o: usize| [b[at + o], b[at + o + 1], b[at + o + 2], b[at + o + 3]];
        assert_eq!(f32::from_le_bytes(word(0)), 0.02);
        assert_eq!(i32::from_le_bytes(word(4)), -3);
        assert_eq!(
            b[at + 8..at + 23],
            bytemuck::cast_slice::<i8, u8>(&params.weights[0])[..]
        );
        assert_eq!(b[at + 23], 0, "padding");
        assert_eq!(i32::from_le_bytes(word(24)), params.bias[0][0]);
        assert_eq!(i32::from_le_bytes(word(44)), params.multiplier[0][0]);
        assert_eq!(u32::from_le_bytes(word(64)), u32::from(params.shift[0]));
        assert_eq!(f32::from_le_bytes(word(68)), 0.05);
        assert_eq!(i32::from_le_bytes(word(72)), -100);
        assert_eq!(
            b[at + 76..at + 96],
            bytemuck::cast_slice::<i8, u8>(&params.weights[1])[..]
        );
        assert_eq!(f32::from_le_bytes(word(156)), 0.0004);
        assert_eq!(f32::from_le_bytes(word(160)), 0.0007);
    }
}

/// The run-time path runs int8 files bit for bit as the typed int8 network, through the
/// one model interface, and says so.
#[test]
fn the_run_time_path_runs_int8_files_bit_for_bit_as_the_typed_network() {
    use nn_core::runtime::{RunTime, Scratch};
    use nn_core::{Model, ModelKind, Path};
    for seed in 0..20 {
        let params = Params::random(seed * 10 + 3);
        let (words, len) = encoded(&params.model());
        let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
        let mut scratch = Scratch::<5>::new();
        let mut generic = RunTime::new(&file, &mut scratch).unwrap();
        let mut typed = file.borrow_int8::<Net>().unwrap();
        assert_eq!((generic.kind(), generic.path()), (ModelKind::Int8, Path::RunTime));
        assert_eq!((typed.kind(), typed.path()), (ModelKind::Int8, Path::Typed));
        let mut rng = common::rng(seed);
        for _ in 0..50 {
            let x = common::values(&mut rng, 3, -4.0, 4.0, 0.0);
            let (mut a, mut b) = ([f32::NAN; 2], [f32::NAN; 2]);
            assert!(generic.predict(&x, &mut a));
            assert!(Model::predict(&mut typed, &x, &mut b));
            assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
        }
        let mut narrow = Scratch::<4>::new();
        assert_eq!(
            RunTime::new(&file, &mut narrow).unwrap_err(),
            Error::OverCapacity {
                widest: 5,
                capacity: 4
            }
        );
    }
}

#[test]
fn the_typed_int8_network_matches_an_independent_integer_reference() {
    let params = Params::random(99);
    let model = params.model();
    let (words, len) = encoded(&model);
    let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
    let net = file.borrow_int8::<Net>().unwrap();
    let mut rng = common::rng(7);
    for _ in 0..500 {
        let x: [f32; 3] = core::array::from_fn(|_| common::uniform(&mut rng, -3.0, 3.0));
        // The reference: i64 sums, i128 rounding, f64 softmax.
        let mut q: Vec<i64> = x
            .iter()
            .map(|&v| ((f64::from(v * (1.0 / 0.02f32)) + 0.5).floor() as i64 - 3).clamp(-128, 127))
            .collect();
        for l in 0..2 {
            let n_in = q.len();
            let zp = i64::from(params.outputs[l].zero_point);
            let min = if l == 0 { zp } else { -128 };
            q = (0..params.bias[l].len())
                .map(|o| {
                    let acc: i64 = i64::from(params.bias[l][o])
                        + (0..n_in)
                            .map(|i| i64::from(params.weights[l][o * n_in + i]) * q[i])
                            .sum::<i64>();
                    let p = i128::from(acc) * i128::from(params.multiplier[l][o]);
                    let d = 1i128 << (33 + u32::from(params.shift[l]));
                    let r = (p + d / 2).div_euclid(d) as i64;
                    (zp + r).clamp(min, 127)
                })
                .collect();
        }
        let z: Vec<f64> = (0..2)
            .map(|o| {
                let acc: i64 = i64::from(params.bias[2][o])
                    + (0..4)
                        .map(|i| i64::from(params.weights[2][o * 4 + i]) * q[i])
                        .sum::<i64>();
                acc as f64 * f64::from(params.scale[o])
            })
            .collect();
        let reference = common::activation_ref(nn_core::Activation::Softmax, &z);
        let y = net.predict(&x);
        for (got, want) in y.iter().zip(&reference) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-6,
                "{x:?}: {y:?} vs {reference:?}"
            );
        }
    }
}

#[test]
fn a_file_of_the_other_kind_or_shape_is_refused() {
    let params = Params::random(1);
    let (words, len) = encoded(&params.model());
    let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
    let err = file.borrow_network::<Net>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file holds an int8 model, this network runs f32 models"
    );
    assert!(matches!(
        file.to_network::<Net>(),
        Err(Error::WrongModelKind { .. })
    ));
    let err = file.borrow_int8::<Other>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 1: the file has 5-4 linear, this build expects 5-3 linear"
    );
    // And an f32 file is not an int8 one.
    let f32_file = WeightFile::parse_exact(include_bytes!("fixtures/tiny-v1.nnw")).unwrap();
    assert_eq!(
        f32_file
            .borrow_int8::<network![Dense<2, 3, Tanh>, Dense<3, 1, nn_core::Sigmoid>]>()
            .unwrap_err()
            .to_string(),
        "the file holds an f32 model, this network runs int8 models"
    );
}

#[test]
fn malformed_quantization_values_are_refused_with_their_place() {
    let params = Params::random(2);
    let (words, len) = encoded(&params.model());
    let good = bytes(&words, len).to_vec();
    let at = params_offset(len);
    let patch = |offset: usize, value: &[u8]| {
        let mut b = good.clone();
        b[offset..offset + value.len()].copy_from_slice(value);
        common::fix_crc(&mut b);
        WeightFile::parse_exact(&b).unwrap_err().to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            patch(at, &0.0f32.to_le_bytes()),
            "the input quantization scale is zero or negative",
        ),
        (
            patch(at, &f32::NAN.to_le_bytes()),
            "the input quantization scale is NaN",
        ),
        (
            patch(at + 4, &200i32.to_le_bytes()),
            "the input zero point is 200, expected -128 to 127",
        ),
        (
            patch(at + 44 + 8, &0i32.to_le_bytes()),
            "requantization multiplier 2 of layer 0 is 0, expected 1 to 2147483647",
        ),
        (
            patch(at + 44, &(-5i32).to_le_bytes()),
            "requantization multiplier 0 of layer 0 is -5, expected 1 to 2147483647",
        ),
        (
            patch(at + 128, &40u32.to_le_bytes()),
            "the requantization shift of layer 1 is 40, expected 0 to 31",
        ),
        (
            patch(at + 132, &0.0f32.to_le_bytes()),
            "the output scale of layer 1 is zero or negative",
        ),
        (
            patch(at + 72, &(-129i32).to_le_bytes()),
            "the output zero point of layer 0 is -129, expected -128 to 127",
        ),
        (
            patch(at + 160, &(-1.0f32).to_le_bytes()),
            "dequantization scale 1 of layer 2 is zero or negative",
        ),
        (
            // Header: magic, version, name (1 + 9 bytes), kind, layer count, then 3, 5, activation.
            patch(19, &[4]),
            "layer 0 is a hidden tanh layer: int8 hidden layers are linear or relu, or tanh or sigmoid from format version 4",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn the_encoder_refuses_what_the_reader_would() {
    let mut params = Params::random(3);
    params.shift[1] = 32;
    let model = params.model();
    let meta = Metadata::default();
    let mut out = [0xAAu8; 512];
    let err = encode_int8(&model, &Metadata { name: "x", ..meta }, &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the requantization shift of layer 1 is 32, expected 0 to 31"
    );
    assert!(out.iter().all(|&b| b == 0xAA), "a refused file writes nothing");
    let mut params = Params::random(3);
    params.scale[0] = 0.0;
    let err = encode_int8(&params.model(), &meta, &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dequantization scale 0 of layer 2 is zero or negative"
    );
}

#[test]
fn every_truncation_and_bit_flip_of_an_int8_file_is_rejected() {
    let params = Params::random(4);
    let (words, len) = encoded(&params.model());
    let good = bytes(&words, len).to_vec();
    for cut in 0..good.len() {
        assert!(WeightFile::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
    for bit in 0..good.len() * 8 {
        let mut b = good.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(WeightFile::parse_exact(&b).is_err(), "bit {bit}");
    }
}

#[test]
fn the_int8_network_costs_no_ram_for_its_weights() {
    // The typed network holds references and the input tensor, not parameters.
    let params = Params::random(5);
    let (words, len) = encoded(&params.model());
    let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
    let net = file.borrow_int8::<Net>().unwrap();
    assert!(
        size_of_val(&net) < 20 * size_of::<usize>() + 64,
        "{}",
        size_of_val(&net)
    );
    assert_eq!(<Net as Layer>::PARAM_COUNT, 15 + 5 + 20 + 4 + 8 + 2);
}

/// A committed int8 file (the demo's sine model, written by `host-trainer quantize`): later
/// versions must keep reading it, and the typed network must reproduce its stored vectors.
#[test]
fn a_committed_int8_file_still_loads_and_reproduces_its_vectors() {
    type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];
    let bytes = include_bytes!("fixtures/sine-int8-v2.nnw");
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()]).unwrap();
    assert_eq!(
        (file.version(), file.kind(), file.name()),
        (2, nn_core::ModelKind::Int8, "sine")
    );
    assert_eq!(file.layers().to_string(), "1-16 relu-16 relu-1 linear");
    let net = file.borrow_int8::<Sine>().unwrap();
    let norm = file.normalization().unwrap();
    assert_eq!(file.test_vector_count(), 8);
    for v in 0..file.test_vector_count() {
        let (input, expected) = file.test_vector(v).unwrap();
        let mut x = [input.get(0).unwrap()];
        norm.apply(&mut x);
        assert_eq!(
            net.predict(&x)[0].to_bits(),
            expected.get(0).unwrap().to_bits(),
            "vector {v}"
        );
    }
}
