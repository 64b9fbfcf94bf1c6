//! int8 files of TensorFlow Lite Micro's arithmetic (model kind 2, format version 5): the
//! layout built by hand from `nn-core/FORMAT.md` against the encoder's bytes, the forward
//! against an independent integer reference (i64 sums, the two roundings written out
//! directly), and the reader's refusals, truncations and bit flips. (The arithmetic against
//! TensorFlow Lite Micro's own kernels: host-trainer's tests/tflite.rs.)

#![cfg(feature = "int8")]
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::tflm::{Rounding, SoftmaxParams};
use nn_core::{
    Activation, Int8LayerParams, Int8Model, Int8Rules, Int8Stage, LayerSpec, Metadata, QuantParams,
    TflmActivation, TflmStage, WeightFile, encode_int8, encoded_len_int8,
};
use rand_core::Rng;

/// A 3-4 tanh-2 softmax network with input tables, random parameters.
struct Params {
    tables: Vec<i8>,
    weights: [Vec<i8>; 2],
    bias: [Vec<i32>; 2],
    multiplier: [Vec<i32>; 2],
    shift: [Vec<i32>; 2],
    sums: [QuantParams; 2],
    tanh: [i8; 256],
    softmax: SoftmaxParams,
    rounding: Rounding,
}

const INPUT: QuantParams = QuantParams {
    scale: 0.03,
    zero_point: -5,
};
const TANH_OUT: QuantParams = QuantParams {
    scale: 1.0 / 128.0,
    zero_point: 0,
};
const SOFTMAX_OUT: QuantParams = QuantParams {
    scale: 1.0 / 256.0,
    zero_point: -128,
};

impl Params {
    fn random(seed: u64, rounding: Rounding) -> Params {
        let mut rng = common::rng(seed);
        let mut i8s = |n: usize| -> Vec<i8> { (0..n).map(|_| rng.next_u32() as i8).collect() };
        let tables = i8s(3 * 256);
        let weights = [i8s(12), i8s(8)];
        let tanh: [i8; 256] = i8s(256).try_into().unwrap();
        let mut rng = common::rng(seed + 1);
        let bias = [4, 2].map(|o| (0..o).map(|_| (rng.next_u32() % 4000) as i32 - 2000).collect());
        let multiplier = [4, 2].map(|o| (0..o).map(|_| (1 << 30) + (rng.next_u32() >> 2) as i32).collect());
        let shift = [4, 2].map(|o| (0..o).map(|_| -((rng.next_u32() % 6) as i32) - 4).collect());
        let sums = [
            QuantParams {
                scale: 0.06,
                zero_point: 7,
            },
            QuantParams {
                scale: 0.1,
                zero_point: -3,
            },
        ];
        Params {
            tables,
            weights,
            bias,
            multiplier,
            shift,
            sums,
            tanh,
            softmax: SoftmaxParams::new(0.1, 1.0, rounding).unwrap(),
            rounding,
        }
    }

    fn model(&self) -> Int8Model<'_> {
        let spec = |i, o, activation| LayerSpec {
            inputs: i,
            outputs: o,
            activation,
        };
        let activations = [
            TflmActivation::Table {
                output: TANH_OUT,
                table: &self.tanh,
            },
            TflmActivation::Softmax {
                output: SOFTMAX_OUT,
                params: self.softmax,
            },
        ];
        let specs = [spec(3, 4, Activation::Tanh), spec(4, 2, Activation::Softmax)];
        let mut layers = heapless::Vec::new();
        for l in 0..2 {
            let _ = layers.push(Int8LayerParams {
                spec: specs[l],
                weights: &self.weights[l],
                bias: &self.bias[l],
                stage: Int8Stage::Tflm(TflmStage {
                    multiplier: &self.multiplier[l],
                    shift: &self.shift[l],
                    sums: self.sums[l],
                    activation: activations[l],
                }),
            });
        }
        Int8Model {
            rules: Int8Rules::TfliteMicro,
            rounding: self.rounding,
            input: INPUT,
            input_tables: Some(&self.tables),
            layers,
        }
    }

    /// The forward computed independently: f64 division rounded half away (as `roundf` of
    /// the f32 quotient, checked below to agree on these inputs), i64 sums, each rounding
    /// written out in i128, and TFLite Micro's softmax from nn-core (its fixed-point steps
    /// are checked against TFLite Micro's own kernels in host-trainer's tests).
    fn reference(&self, x: &[f32; 3]) -> Vec<f32> {
        let mut q: Vec<i64> = x
            .iter()
            .zip(self.tables.chunks(256))
            .map(|(&v, table)| {
                let t = f64::from(v / INPUT.scale);
                // Half away from zero, by hand (libm's round is what is being compared against).
                let magnitude = libm::fabs(t);
                let r = libm::floor(magnitude)
                    + if magnitude - libm::floor(magnitude) >= 0.5 {
                        1.0
                    } else {
                        0.0
                    };
                let q = (libm::copysign(r, t) as i64 + i64::from(INPUT.zero_point)).clamp(-128, 127);
                i64::from(table[(q + 128) as usize])
            })
            .collect();
        let mut last = Vec::new();
        for l in 0..2 {
            let outputs = self.bias[l].len();
            let mut y = Vec::new();
            for o in 0..outputs {
                // The file's bias has the input zero point folded in.
                let acc: i64 = i64::from(self.bias[l][o])
                    + (0..q.len())
                        .map(|i| i64::from(self.weights[l][o * q.len() + i]) * q[i])
                        .sum::<i64>();
                let scaled = rescale(acc, self.multiplier[l][o], self.shift[l][o], self.rounding);
                let v = (scaled + i64::from(self.sums[l].zero_point)).clamp(-128, 127);
                y.push(v);
            }
            if l == 0 {
                q = y
                    .iter()
                    .map(|&v| i64::from(self.tanh[(v + 128) as usize]))
                    .collect();
            } else {
                let sums: Vec<i8> = y.iter().map(|&v| v as i8).collect();
                let mut out = vec![0i8; 2];
                nn_core::tflm::softmax(&sums, &self.softmax, self.rounding, &mut out);
                last = out;
            }
        }
        last.iter()
            .map(|&v| (i32::from(v) - SOFTMAX_OUT.zero_point) as f32 * SOFTMAX_OUT.scale)
            .collect()
    }
}

/// `acc · m · 2^shift / 2^31`: double rounding as two round-half-away steps of the exact
/// products, single as one round-half-up; in i128.
fn rescale(acc: i64, m: i32, shift: i32, rounding: Rounding) -> i64 {
    let p = i128::from(acc) * i128::from(m);
    match rounding {
        Rounding::Single => {
            let total = 31 - shift;
            ((p + (1i128 << (total - 1))) >> total) as i64
        }
        Rounding::Double => {
            let p = p << shift.max(0);
            // Round half away from zero of p / 2^31, then of that / 2^-shift.
            let away = |v: i128, bits: i32| -> i128 {
                if bits == 0 {
                    return v;
                }
                let half = 1i128 << (bits - 1);
                let magnitude = (v.abs() + half) >> bits;
                if v < 0 { -magnitude } else { magnitude }
            };
            away(away(p, 31), (-shift).max(0)) as i64
        }
    }
}

fn encode(model: &Int8Model<'_>, meta: &Metadata<'_>) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len_int8(model, meta).unwrap()];
    encode_int8(model, meta, &mut bytes).unwrap();
    bytes
}

/// Words as little-endian bytes.
fn le(words: impl IntoIterator<Item = [u8; 4]>) -> Vec<u8> {
    words.into_iter().flatten().collect()
}

#[test]
fn the_layout_is_the_documented_one() {
    let p = Params::random(1, Rounding::Single);
    let bytes = encode(&p.model(), &Metadata::default());
    // By hand from FORMAT.md: preamble, header (name "", kind 2, 2 layers, normalized =
    // input tables, no vectors, no names), padding, tables, parameters, CRC.
    let mut expected = vec![0x4e, 0x4e, 0x57, 0x46, 5, 0, 2, 2, 3, 4, 4, 4, 2, 5, 1, 0, 0];
    expected.resize(20, 0);
    expected.extend(p.tables.iter().map(|&v| v as u8));
    expected.extend(le([
        INPUT.scale.to_le_bytes(),
        INPUT.zero_point.to_le_bytes(),
        1u32.to_le_bytes(),
    ]));
    for l in 0..2 {
        let mut weights: Vec<u8> = p.weights[l].iter().map(|&v| v as u8).collect();
        weights.resize(weights.len().next_multiple_of(4), 0);
        expected.extend(weights);
        for words in [&p.bias[l], &p.multiplier[l], &p.shift[l]] {
            expected.extend(le(words.iter().map(|v| v.to_le_bytes())));
        }
        expected.extend(le([
            p.sums[l].scale.to_le_bytes(),
            p.sums[l].zero_point.to_le_bytes(),
        ]));
        if l == 0 {
            // tanh: its output tensor, then the table.
            expected.extend(le([
                TANH_OUT.scale.to_le_bytes(),
                TANH_OUT.zero_point.to_le_bytes(),
            ]));
            expected.extend(p.tanh.iter().map(|&v| v as u8));
        } else {
            // softmax: its output tensor, then its three parameters.
            expected.extend(le([
                SOFTMAX_OUT.scale.to_le_bytes(),
                SOFTMAX_OUT.zero_point.to_le_bytes(),
                p.softmax.multiplier.to_le_bytes(),
                p.softmax.left_shift.to_le_bytes(),
                p.softmax.diff_min.to_le_bytes(),
            ]));
        }
    }
    let crc = nn_core::format::crc32(&expected);
    expected.extend(crc.to_le_bytes());
    assert_eq!(bytes, expected);
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..bytes.len()]).unwrap();
    assert_eq!((file.version(), file.int8_rules()), (5, Int8Rules::TfliteMicro));
    assert!(file.normalization().is_none(), "its section holds tables");
    assert_eq!(file.int8_model().unwrap(), p.model());
}

#[test]
fn the_forward_is_the_reference_in_both_roundings() {
    let mut rng = common::rng(9);
    for (seed, rounding) in [
        (2, Rounding::Double),
        (3, Rounding::Single),
        (4, Rounding::Double),
    ] {
        let p = Params::random(seed, rounding);
        let model = p.model();
        let len = encoded_len_int8(&model, &Metadata::default()).unwrap();
        let mut words = vec![0u32; len.div_ceil(4)];
        encode_int8(
            &model,
            &Metadata::default(),
            &mut bytemuck::cast_slice_mut(&mut words)[..len],
        )
        .unwrap();
        let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..len]).unwrap();
        let model = file.int8_model().unwrap();
        let (mut a, mut b, mut y) = ([0i8; 4], [0i8; 4], [0.0f32; 2]);
        for _ in 0..500 {
            let x: [f32; 3] = core::array::from_fn(|_| common::uniform(&mut rng, -5.0, 5.0));
            model.predict(&x, &mut a, &mut b, &mut y).unwrap();
            assert_eq!(y.to_vec(), p.reference(&x), "{rounding:?} {x:?}");
            // The f32 quotient rounds as its f64 value does here (no quotient within an
            // f32 step of a half).
            for v in x {
                let (t32, t64) = (v / INPUT.scale, f64::from(v) / f64::from(INPUT.scale));
                assert_eq!(libm::roundf(t32) as i64, libm::round(t64) as i64);
            }
        }
    }
}

/// `bytes` with its CRC made right again.
fn fix_crc(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = nn_core::format::crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn bad_values_are_refused_saying_where() {
    let p = Params::random(5, Rounding::Double);
    let bytes = encode(&p.model(), &Metadata::default());
    let params_start = 20 + 3 * 256;
    let layer0 = params_start + 12;
    let shift0 = layer0 + 12 + 4 * 4 + 4 * 4;
    let cases: [(usize, [u8; 4], &str); 3] = [
        (
            params_start + 8,
            2u32.to_le_bytes(),
            "the requantization rounding (0 double, 1 single) is 2, expected 0 to 1",
        ),
        (
            shift0 + 4 * 3,
            31i32.to_le_bytes(),
            "requantization shift 3 of layer 0 is 31, expected -31 to 30",
        ),
        (
            bytes.len() - 4 - 8,
            31i32.to_le_bytes(),
            "the softmax left shift of layer 1 is 31, expected 0 to 30",
        ),
    ];
    for (at, value, message) in cases {
        let mut bad = bytes.clone();
        bad[at..at + 4].copy_from_slice(&value);
        fix_crc(&mut bad);
        assert_eq!(WeightFile::parse_exact(&bad).unwrap_err().to_string(), message);
    }
    // Kind 2 before version 5 is no kind: the file is refused (its length then reads as an
    // f32 file's, so its CRC is looked for elsewhere).
    let mut old = bytes.clone();
    old[4] = 4;
    fix_crc(&mut old);
    assert!(WeightFile::parse(&old).is_err());
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let p = Params::random(6, Rounding::Single);
    let bytes = encode(&p.model(), &Metadata::default());
    for len in 0..bytes.len() {
        assert!(WeightFile::parse(&bytes[..len]).is_err(), "{len}");
    }
    let mut rng = common::rng(7);
    for _ in 0..3000 {
        let mut bad = bytes.clone();
        let at = (rng.next_u32() as usize) % bad.len();
        bad[at] ^= 1 << (rng.next_u32() % 8);
        fix_crc(&mut bad);
        let mut words = vec![0u32; bad.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bad.len()].copy_from_slice(&bad);
        if let Ok(file) = WeightFile::parse(&bytemuck::cast_slice(&words)[..bad.len()])
            && let Ok(model) = file.int8_model()
        {
            let (mut a, mut b, mut y) = ([0i8; 8], [0i8; 8], [0.0f32; 2]);
            let _ = model.predict(&[0.5, -1.0, 2.0], &mut a, &mut b, &mut y);
        }
    }
}

/// A file host-trainer wrote from the TFLite converter's iris model (`host-trainer import
/// iris_int8.tflite --data data/iris.csv --vectors 4`), committed: this build still reads
/// it, and runs its test vectors to the stored outputs bit for bit, as the board does.
#[test]
fn the_committed_version_5_file_still_reads_and_runs() {
    let bytes = include_bytes!("fixtures/tflm-iris-v5.nnw");
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice(&words)[..bytes.len()]).unwrap();
    assert_eq!((file.version(), file.int8_rules()), (5, Int8Rules::TfliteMicro));
    assert_eq!(file.layers().to_string(), "4-16 relu-3 softmax");
    let model = file.int8_model().unwrap();
    assert_eq!(model.rounding, Rounding::Double);
    assert_eq!(model.input_tables.map(<[i8]>::len), Some(4 * 256));
    let (mut a, mut b, mut y) = ([0i8; 16], [0i8; 16], [0.0f32; 3]);
    assert_eq!(file.test_vector_count(), 4);
    for v in 0..4 {
        let (x, expected) = file.test_vector(v).unwrap();
        let x: Vec<f32> = x.iter().collect();
        model.predict(&x, &mut a, &mut b, &mut y).unwrap();
        assert_eq!(y.to_vec(), expected.iter().collect::<Vec<_>>(), "vector {v}");
    }
}
