//! int8 hidden tanh and sigmoid layers by tables (format version 4): the file's layout,
//! the typed and run-time networks against an independent integer reference, older
//! versions unchanged, and the encoder's and reader's refusals.

#![cfg(feature = "int8")] // reading int8 files needs the feature (on by default)
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::quant::Requantizer;
use nn_core::runtime::{RunTime, Scratch};
use nn_core::{
    Activation, Dense, Identity, Int8LayerParams, Int8Model, Int8Stage, LayerSpec, Lookup, Metadata, Model,
    QuantParams, Sigmoid, Tanh, WeightFile, encode_int8, encoded_len_int8, network,
};
use rand_core::Rng;

type Net = network![Dense<3, 5, Tanh>, Dense<5, 4, Sigmoid>, Dense<4, 2, Identity>];

/// A random int8 network of shape `Net`, owned: tables of random values, pre-activation
/// tensors of their own.
struct Params {
    weights: [Vec<i8>; 3],
    bias: [Vec<i32>; 3],
    multiplier: [Vec<i32>; 2],
    pre: [QuantParams; 2],
    tables: [[i8; 256]; 2],
    outputs: [QuantParams; 2],
    scale: Vec<f32>,
}

const SHIFT: u8 = 5;

impl Params {
    fn random(seed: u64) -> Params {
        let mut rng = common::rng(seed);
        let shapes = [(3, 5), (5, 4), (4, 2)];
        let mut i8s = |n: usize| -> Vec<i8> { (0..n).map(|_| rng.next_u32() as i8).collect() };
        let weights = shapes.map(|(i, o)| i8s(i * o));
        let tables = [0, 1].map(|_| core::array::from_fn(|_| rng.next_u32() as i8));
        let mut rng = common::rng(seed + 1);
        let bias = shapes.map(|(_, o)| {
            (0..o)
                .map(|_| (rng.next_u32() % 20_000) as i32 - 10_000)
                .collect()
        });
        let multiplier = [5, 4].map(|o: usize| -> Vec<i32> {
            (0..o)
                .map(|_| {
                    let real = f64::from(common::uniform(&mut rng, 0.0005, 0.005));
                    Requantizer::with_shift(real, SHIFT).unwrap().multiplier
                })
                .collect()
        });
        let zero = |z| QuantParams {
            scale: 0.05,
            zero_point: z,
        };
        Params {
            weights,
            bias,
            multiplier,
            pre: [zero(-20), zero(31)],
            tables,
            outputs: [
                QuantParams {
                    scale: 1.0 / 128.0,
                    zero_point: 0,
                },
                QuantParams {
                    scale: 1.0 / 256.0,
                    zero_point: -128,
                },
            ],
            scale: vec![0.0004, 0.0007],
        }
    }

    fn model(&self) -> Int8Model<'_> {
        let spec = |i, o, a| LayerSpec {
            inputs: i,
            outputs: o,
            activation: a,
        };
        let specs = [
            spec(3, 5, Activation::Tanh),
            spec(5, 4, Activation::Sigmoid),
            spec(4, 2, Activation::Identity),
        ];
        let mut layers = heapless::Vec::new();
        for (l, spec) in specs.into_iter().enumerate() {
            let stage = if l < 2 {
                Int8Stage::Requantize {
                    multiplier: &self.multiplier[l],
                    shift: SHIFT,
                    output: self.outputs[l],
                    lookup: Some(Lookup {
                        input: self.pre[l],
                        table: &self.tables[l],
                    }),
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

    /// The network's output for `x`, computed independently: i64 sums, i128 rounding, the
    /// tables indexed by hand (the input quantized by nn-core's quantizer, which
    /// tests/quant.rs checks against exact rounding: a step off there would pick another
    /// entry of these random tables).
    fn reference(&self, x: &[f32; 3]) -> Vec<f32> {
        let quantizer = self.model().input.input_quantizer();
        let mut q: Vec<i64> = x.iter().map(|&v| i64::from(quantizer.quantize(v))).collect();
        for l in 0..2 {
            let n_in = q.len();
            q = (0..self.bias[l].len())
                .map(|o| {
                    let acc: i64 = i64::from(self.bias[l][o])
                        + (0..n_in)
                            .map(|i| i64::from(self.weights[l][o * n_in + i]) * q[i])
                            .sum::<i64>();
                    let p = i128::from(acc) * i128::from(self.multiplier[l][o]);
                    let d = 1i128 << (33 + u32::from(SHIFT));
                    let r = (p + d / 2).div_euclid(d) as i64;
                    let pre = (i64::from(self.pre[l].zero_point) + r).clamp(-128, 127);
                    i64::from(self.tables[l][(pre + 128) as usize])
                })
                .collect();
        }
        (0..2)
            .map(|o| {
                let acc: i64 = i64::from(self.bias[2][o])
                    + (0..4)
                        .map(|i| i64::from(self.weights[2][o * 4 + i]) * q[i])
                        .sum::<i64>();
                acc as f32 * self.scale[o]
            })
            .collect()
    }
}

/// The encoded file (in a 4-byte aligned buffer, as in flash), with `names` or none.
fn encoded(model: &Int8Model<'_>, names: Option<nn_core::NamesSpec<'_>>) -> (Vec<u32>, usize) {
    let meta = Metadata {
        name: "tables",
        names,
        ..Metadata::default()
    };
    let len = encoded_len_int8(model, &meta).unwrap();
    let mut words = vec![0u32; len.div_ceil(4)];
    encode_int8(model, &meta, &mut bytemuck::cast_slice_mut(&mut words)[..len]).unwrap();
    (words, len)
}

fn bytes(words: &[u32], len: usize) -> &[u8] {
    &bytemuck::cast_slice(words)[..len]
}

#[test]
fn tables_round_trip_in_a_version_4_file_laid_out_as_documented() {
    let params = Params::random(1);
    let model = params.model();
    let (words, len) = encoded(&model, None);
    let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
    assert_eq!(file.version(), 4, "int8 files with tables are format version 4");
    assert_eq!(
        file.int8_model().unwrap(),
        model,
        "what was written is what is read"
    );
    assert_eq!(file.layers().to_string(), "3-5 tanh-4 sigmoid-2 linear");
    // FORMAT.md: after the first layer's weights (15 + 1 padding), bias (20), multipliers (20)
    // and shift (4): the pre-activation tensor, the table, then the output tensor.
    let params_bytes = 8 + (16 + 20 + 20 + 4 + 8 + 256 + 8) + (20 + 16 + 16 + 4 + 8 + 256 + 8) + (8 + 8 + 8);
    assert_eq!(model.parameter_bytes(), params_bytes);
    let at = len - 4 - params_bytes;
    let b = file.as_bytes();
    let word = |o: usize| [b[at + o], b[at + o + 1], b[at + o + 2], b[at + o + 3]];
    // (The input tensor's 8 bytes first.)
    assert_eq!(f32::from_le_bytes(word(68)), 0.05, "pre-activation scale");
    assert_eq!(i32::from_le_bytes(word(72)), -20, "pre-activation zero point");
    assert_eq!(
        b[at + 76..at + 332],
        bytemuck::cast_slice::<i8, u8>(&params.tables[0])[..]
    );
    assert_eq!(f32::from_le_bytes(word(332)), 1.0 / 128.0, "output scale");
    assert_eq!(i32::from_le_bytes(word(336)), 0, "output zero point");
    // With names: version 4 too, the names read back.
    let names = nn_core::NamesSpec {
        inputs: &["a", "b", "c"],
        target: "y",
        classes: &[],
    };
    let (words, len) = encoded(&model, Some(names));
    let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
    assert_eq!(file.version(), 4);
    assert_eq!(
        file.names().unwrap().inputs().collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(file.int8_model().unwrap(), model);
}

#[test]
fn typed_and_run_time_networks_match_an_independent_reference() {
    for seed in 0..10 {
        let params = Params::random(seed * 7 + 2);
        let (words, len) = encoded(&params.model(), None);
        let file = WeightFile::parse_exact(bytes(&words, len)).unwrap();
        let typed = file.borrow_int8::<Net>().unwrap();
        let mut scratch = Scratch::<5>::new();
        let mut generic = RunTime::new(&file, &mut scratch).unwrap();
        let mut rng = common::rng(seed);
        for _ in 0..200 {
            let x: [f32; 3] = core::array::from_fn(|_| common::uniform(&mut rng, -3.0, 3.0));
            let want = params.reference(&x);
            let y = typed.predict(&x);
            let mut z = [0.0f32; 2];
            assert!(generic.predict(&x, &mut z));
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&want), "typed, {x:?}");
            assert_eq!(bits(&z), bits(&want), "run-time, {x:?}");
        }
    }
}

#[test]
fn the_encoder_and_the_reader_refuse_a_bad_table_layer() {
    let params = Params::random(3);
    let mut model = params.model();
    // A tanh layer without its table, a ReLU layer with one.
    if let Int8Stage::Requantize { lookup, .. } = &mut model.layers[0].stage {
        *lookup = None;
    }
    let meta = Metadata {
        name: "x",
        ..Metadata::default()
    };
    let mut out = vec![0u8; 4096];
    let error = encode_int8(&model, &meta, &mut out).unwrap_err().to_string();
    assert!(error.contains("int8 activation tables"), "{error}");
    let mut model = params.model();
    model.layers[0].spec.activation = Activation::Relu;
    model.layers[1].spec.inputs = 5;
    let error = encode_int8(&model, &meta, &mut out).unwrap_err().to_string();
    assert!(error.contains("int8 activation tables"), "{error}");
    // A pre-activation zero point out of range, written by hand: refused where it is.
    let (words, len) = encoded(&params.model(), None);
    let mut b = bytes(&words, len).to_vec();
    let params_bytes = params.model().parameter_bytes();
    let at = len - 4 - params_bytes + 72;
    b[at..at + 4].copy_from_slice(&(-129i32).to_le_bytes());
    common::fix_crc(&mut b);
    let error = WeightFile::parse_exact(&b).unwrap_err().to_string();
    assert_eq!(
        error,
        "the pre-activation zero point of layer 0 is -129, expected -128 to 127"
    );
}

#[test]
fn every_truncation_and_bit_flip_of_a_table_file_is_rejected() {
    let params = Params::random(4);
    let (words, len) = encoded(&params.model(), None);
    let good = bytes(&words, len).to_vec();
    for cut in 0..good.len() {
        assert!(WeightFile::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
    for bit in (0..good.len() * 8).step_by(3) {
        let mut b = good.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(WeightFile::parse_exact(&b).is_err(), "bit {bit}");
    }
}
