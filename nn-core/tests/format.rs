//! The weight file: pinned bytes, round trips, and every way a file can be wrong.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use nn_core::format::{Location, NonFiniteValue};
use nn_core::{
    Activation, Dense, Error, Identity, Layer, LayerSpec, Metadata, NamesSpec, NormalizationParams, Sigmoid,
    Tanh, Trainable, WeightFile, encode, encoded_len, network,
};
use proptest::prelude::*;

type Tiny = network![Dense<2, 3, Tanh>, Dense<3, 1, Sigmoid>];

const FIXTURE: &[u8] = include_bytes!("fixtures/tiny-v1.nnw");
const TEST_INPUTS: [f32; 4] = [1.0, 2.0, -3.0, 0.5];

/// The network of the committed fixture: values exact in binary.
fn tiny() -> Tiny {
    (
        Dense::new([[0.5, -0.25], [1.0, 0.125], [-0.75, 2.0]], [0.0, 0.5, -1.0]),
        Dense::new([[1.5, -2.0, 0.25]], [0.0625]),
    )
}

const OFFSET: [f32; 2] = [1.0, -2.0];
const SCALE: [f32; 2] = [0.5, 4.0];

fn tiny_outputs(net: &Tiny) -> Vec<f32> {
    TEST_INPUTS
        .chunks(2)
        .flat_map(|x| {
            let x = [(x[0] - OFFSET[0]) * SCALE[0], (x[1] - OFFSET[1]) * SCALE[1]];
            net.predict(&x)
        })
        .collect()
}

/// The fixture's expected outputs, as libm computes them (bits, so the file does not depend
/// on the `fast-math` feature).
const FIXTURE_OUTPUTS: [u32; 2] = [0x3D26_BF68, 0x3EAA_76C5];

fn fixture_outputs() -> Vec<f32> {
    FIXTURE_OUTPUTS.map(f32::from_bits).to_vec()
}

fn encode_tiny(net: &Tiny) -> Vec<u8> {
    encode_tiny_with(net, &tiny_outputs(net))
}

fn encode_tiny_with(net: &Tiny, outputs: &[f32]) -> Vec<u8> {
    let meta = Metadata {
        name: "fixture",
        normalization: Some(NormalizationParams {
            offset: &OFFSET,
            scale: &SCALE,
        }),
        test_inputs: &TEST_INPUTS,
        test_outputs: outputs,
        names: None,
    };
    let mut bytes = vec![0u8; encoded_len(net, &meta).unwrap()];
    let len = encode(net, &meta, &mut bytes).unwrap();
    assert_eq!(len, bytes.len());
    bytes
}

/// The preamble and header of the fixture, byte by byte as FORMAT.md lays them out.
const FIXTURE_HEADER: [u8; 23] = [
    b'N', b'N', b'W', b'F', // magic
    0x01, // format version 1 (varint)
    0x07, b'f', b'i', b'x', b't', b'u', b'r', b'e', // name: length, UTF-8
    0x00, // model kind: f32
    0x02, // two layers
    0x02, 0x03, 0x04, // 2 inputs, 3 outputs, activation 4 = tanh
    0x03, 0x01, 0x03, // 3 inputs, 1 output, activation 3 = sigmoid
    0x01, // normalized
    0x02, // two test vectors
];

#[test]
fn fixture_bytes_are_pinned() {
    if std::env::var_os("NN_CORE_BLESS").is_some() {
        std::fs::write(
            "tests/fixtures/tiny-v1.nnw",
            encode_tiny_with(&tiny(), &fixture_outputs()),
        )
        .unwrap();
    }
    let encoded = encode_tiny_with(&tiny(), &fixture_outputs());
    assert_eq!(
        encoded, FIXTURE,
        "encoder output differs from the committed fixture"
    );
    assert_eq!(&FIXTURE[..23], &FIXTURE_HEADER);
    // The same file assembled by hand from FORMAT.md.
    let net = tiny();
    let mut body: Vec<f32> = [OFFSET, SCALE].concat();
    body.extend(params_of(&net).iter().map(|&v| v as f32));
    let outputs = fixture_outputs();
    for (x, y) in TEST_INPUTS.chunks(2).zip(outputs.chunks(1)) {
        body.extend(x.iter().chain(y));
    }
    assert_eq!(file_from_parts(&FIXTURE_HEADER, &body), FIXTURE);
    assert_eq!(FIXTURE.len(), 120);
}

#[test]
fn fixture_round_trips() {
    let file = WeightFile::parse_exact(FIXTURE).unwrap();
    assert_eq!(file.name(), "fixture");
    assert_eq!(file.len(), FIXTURE.len());
    assert_eq!(file.layers().to_string(), "2-3 tanh-1 sigmoid");
    assert_eq!(file.crc(), crc32_reference(&FIXTURE[..FIXTURE.len() - 4]));
    let net: Tiny = file.to_network().unwrap();
    assert_eq!(net, tiny());
    let norm = file.normalization().unwrap();
    assert_eq!(norm.offset.iter().collect::<Vec<_>>(), OFFSET);
    assert_eq!(norm.scale.iter().collect::<Vec<_>>(), SCALE);
    assert_eq!(file.test_vector_count(), 2);
    let aligned = Aligned::copy_of(FIXTURE, 0);
    let file = WeightFile::parse_exact(aligned.bytes(0, FIXTURE.len())).unwrap();
    let borrowed = file.borrow_network::<Tiny>().unwrap();
    for index in 0..file.test_vector_count() {
        let (input, expected) = file.test_vector(index).unwrap();
        let mut x = [0.0; 2];
        input.copy_to(&mut x);
        norm.apply(&mut x);
        let (y, expected) = (borrowed.predict(&x)[0], expected.get(0).unwrap());
        #[cfg(not(feature = "fast-math"))]
        assert_eq!(
            y.to_bits(),
            expected.to_bits(),
            "host prediction differs from the stored one"
        );
        #[cfg(feature = "fast-math")]
        assert!(
            (y - expected).abs() < 1e-2,
            "fast-math prediction {y} too far from {expected}"
        );
    }
    assert!(file.test_vector(2).is_none());
}

/// A 4-byte aligned buffer holding a copy of a file at some offset.
#[repr(C, align(4))]
struct Aligned([u8; 512]);

impl Aligned {
    fn copy_of(bytes: &[u8], at: usize) -> Aligned {
        let mut buf = Aligned([0; 512]);
        buf.0[at..at + bytes.len()].copy_from_slice(bytes);
        buf
    }
    fn bytes(&self, at: usize, len: usize) -> &[u8] {
        &self.0[at..at + len]
    }
}

#[test]
fn a_misaligned_file_is_refused_for_borrowing_but_can_be_copied() {
    let buf = Aligned::copy_of(FIXTURE, 1);
    let file = WeightFile::parse_exact(buf.bytes(1, FIXTURE.len())).unwrap();
    let err = file.borrow_network::<Tiny>().unwrap_err();
    assert!(matches!(err, Error::Misaligned { .. }), "{err:?}");
    assert!(err.to_string().contains("not 4-byte aligned"));
    assert_eq!(file.to_network::<Tiny>().unwrap(), tiny());
}

#[test]
fn every_truncation_is_rejected_as_truncated() {
    for len in 0..FIXTURE.len() {
        for parse in [WeightFile::parse, WeightFile::parse_exact] {
            let err = parse(&FIXTURE[..len]).unwrap_err();
            assert!(matches!(err, Error::Truncated { .. }), "length {len}: {err:?}");
        }
    }
    let err = WeightFile::parse(&FIXTURE[..100]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "truncated at byte 100: the header calls for 120 bytes"
    );
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let mut crc_mismatches = 0;
    for bit in 0..FIXTURE.len() * 8 {
        let mut bytes = FIXTURE.to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let exact = WeightFile::parse_exact(&bytes);
        let prefix = WeightFile::parse(&bytes);
        assert!(
            exact.is_err() && prefix.is_err(),
            "bit {bit} flipped and the file still loads"
        );
        crc_mismatches += matches!(exact, Err(Error::CrcMismatch { .. })) as usize;
    }
    // Outside the magic, version and length-bearing header fields, the CRC is what notices.
    assert!(crc_mismatches > FIXTURE.len() * 8 * 3 / 4, "{crc_mismatches}");
}

#[test]
fn trailing_bytes_are_an_error_only_for_exact_parsing() {
    let mut bytes = FIXTURE.to_vec();
    bytes.extend_from_slice(&[0xff; 16]); // erased flash after the file
    assert_eq!(WeightFile::parse(&bytes).unwrap().len(), FIXTURE.len());
    let err = WeightFile::parse_exact(&bytes).unwrap_err();
    assert_eq!(
        err,
        Error::TrailingBytes {
            len: 136,
            file_len: 120
        }
    );
}

#[test]
fn errors_say_what_is_wrong() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            vec![0xff; 64],
            "not a weight file: it starts with bytes ff ff ff ff, expected \"NNWF\"",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[4] = 6;
                b
            },
            "format version 6, this build reads versions 1 to 5",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[60] ^= 0x10;
                b
            },
            "CRC mismatch: file is corrupt",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[13] = 7; // model kind
                fix_crc(&mut b);
                b
            },
            "model kind 7 is not supported by this build (0 = f32, 1 = int8 from version 2, 2 = TFLite Micro int8 from version 5)",
        ),
        (
            {
                // The int8 kind did not exist in version 1.
                let mut b = FIXTURE.to_vec();
                b[13] = 1;
                fix_crc(&mut b);
                b
            },
            "model kind 1 is not supported by this build (0 = f32, 1 = int8 from version 2, 2 = TFLite Micro int8 from version 5)",
        ),
        (
            {
                // Weight 5 of layer 0 (after 16 bytes of normalization) becomes NaN.
                let mut b = FIXTURE.to_vec();
                b[24 + 16 + 5 * 4..24 + 16 + 6 * 4].copy_from_slice(&f32::NAN.to_le_bytes());
                fix_crc(&mut b);
                b
            },
            "weight 5 of layer 0 is NaN",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[24 + 16 + 9 * 4 + 4..24 + 16 + 9 * 4 + 8].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
                fix_crc(&mut b);
                b
            },
            "weight 1 of layer 1 is -infinity",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[24 + 12..24 + 16].copy_from_slice(&0.0f32.to_le_bytes());
                fix_crc(&mut b);
                b
            },
            "normalization scale of feature 1 is zero",
        ),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[4] = 1;
                b[21] = 0x80; // normalized flag: a varint continuation, not a bool
                b
            },
            "malformed header: bad bool",
        ),
        (
            // Layers 2-3 then 4-1: assembled by hand, correct CRC.
            file_from_parts(
                &[b'N', b'N', b'W', b'F', 1, 0, 0, 2, 2, 3, 4, 4, 1, 3, 0, 0],
                &[0.0; 9 + 5],
            ),
            "layer 0 has 3 outputs but layer 1 takes 4 inputs",
        ),
        (
            file_from_parts(&[b'N', b'N', b'W', b'F', 1, 0, 0, 0, 0, 0], &[]),
            "the network has no layers",
        ),
        (
            file_from_parts(&[b'N', b'N', b'W', b'F', 1, 0, 0, 1, 0, 3, 1, 0, 0], &[0.0; 3]),
            "layer 0 has zero inputs or outputs",
        ),
        (
            file_from_parts(&[b'N', b'N', b'W', b'F', 1, 0, 0, 1, 1, 1, 9, 0, 0], &[0.0; 2]),
            "malformed header: unknown activation",
        ),
    ];
    for (bytes, message) in cases {
        let err = WeightFile::parse_exact(&bytes).unwrap_err();
        assert!(
            err.to_string().starts_with(message),
            "expected {message:?}, got {:?}",
            err.to_string()
        );
    }
}

#[test]
fn a_file_loads_only_into_its_own_shape() {
    type Wider = network![Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid>];
    type OtherActivation = network![Dense<2, 3, Tanh>, Dense<3, 1, Identity>];
    let file = WeightFile::parse_exact(FIXTURE).unwrap();
    let err = file.to_network::<Wider>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 0: the file has 2-3 tanh, this build expects 2-4 tanh"
    );
    let err = file.borrow_network::<OtherActivation>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 1: the file has 3-1 sigmoid, this build expects 3-1 linear"
    );
    let err = file.to_network::<Dense<2, 3, Tanh>>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 1: the file has 3-1 sigmoid, this build expects none"
    );
    type Deeper = network![Dense<2, 3, Tanh>, Dense<3, 1, Sigmoid>, Dense<1, 1, Identity>];
    let err = file.to_network::<Deeper>().unwrap_err();
    assert!(matches!(
        err,
        Error::ShapeMismatch {
            layer: 2,
            file: None,
            expected: Some(_)
        }
    ));
    assert_eq!(
        err.to_string(),
        "layer 2: the file has none, this build expects 1-1 linear"
    );
}

#[test]
fn the_encoder_refuses_what_no_file_may_hold_and_leaves_the_buffer_alone() {
    let mut net = tiny();
    let mut buf = vec![0xaa; 256];
    net.1.weights[0][2] = f32::NAN;
    let err = encode(&net, &Metadata::default(), &mut buf).unwrap_err();
    assert_eq!(
        err,
        Error::NonFinite {
            location: Location::Weight { layer: 1, index: 2 },
            value: NonFiniteValue::NaN
        }
    );
    assert!(buf.iter().all(|&b| b == 0xaa));

    let net = tiny();
    let long = "x".repeat(33);
    let err = encode(
        &net,
        &Metadata {
            name: &long,
            ..Metadata::default()
        },
        &mut buf,
    )
    .unwrap_err();
    assert_eq!(err, Error::NameTooLong { len: 33 });
    let meta = Metadata {
        test_inputs: &[1.0, 2.0],
        test_outputs: &[],
        ..Metadata::default()
    };
    let err = encode(&net, &meta, &mut buf).unwrap_err();
    assert_eq!(
        err,
        Error::MetadataShape {
            what: "test outputs",
            expected: 1,
            found: 0
        }
    );
    let err = encode(&net, &Metadata::default(), &mut buf[..20]).unwrap_err();
    assert!(matches!(err, Error::BufferTooSmall { available: 20, .. }));
    assert!(buf.iter().all(|&b| b == 0xaa));

    let spec = |inputs, outputs| LayerSpec {
        inputs,
        outputs,
        activation: Activation::Relu,
    };
    let disconnected = DynNet {
        layers: vec![
            (spec(2, 3), vec![0.0; 6], vec![0.0; 3]),
            (spec(4, 1), vec![0.0; 4], vec![0.0; 1]),
        ],
    };
    let err = encode(&disconnected, &Metadata::default(), &mut buf).unwrap_err();
    assert_eq!(
        err,
        Error::LayersDisconnected {
            layer: 0,
            outputs: 3,
            next_inputs: 4
        }
    );
    let deep = DynNet {
        layers: (0..9).map(|_| (spec(1, 1), vec![0.0], vec![0.0])).collect(),
    };
    assert_eq!(
        encode(&deep, &Metadata::default(), &mut buf).unwrap_err(),
        Error::TooManyLayers { count: 9 }
    );
}

/// A run-time network of the given widths with parameters from `values` (cycled).
fn dyn_net(widths: &[u16], activations: &[Activation], values: &[f32]) -> DynNet {
    let mut cycle = values.iter().copied().cycle();
    let layers = widths
        .windows(2)
        .zip(activations)
        .map(|(w, &activation)| {
            let spec = LayerSpec {
                inputs: w[0],
                outputs: w[1],
                activation,
            };
            let weights = cycle.by_ref().take(spec.weight_count()).collect();
            let bias = cycle.by_ref().take(w[1] as usize).collect();
            (spec, weights, bias)
        })
        .collect();
    DynNet { layers }
}

fn finite() -> impl Strategy<Value = f32> {
    prop_oneof![
        -1e3f32..1e3,
        Just(f32::MAX),
        Just(f32::MIN_POSITIVE),
        Just(-0.0f32),
        any::<f32>().prop_filter("finite", |v| v.is_finite())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_network_and_metadata_round_trip_exactly(
        widths in proptest::collection::vec(1u16..12, 2..=9),
        activations in proptest::collection::vec(0usize..6, 8),
        values in proptest::collection::vec(finite(), 1..64),
        name in "[a-z0-9_-]{0,32}",
        normalized in any::<bool>(),
        vectors in 0usize..4,
        classes in 0usize..4,
        named in any::<bool>(),
    ) {
        let activations: Vec<Activation> = activations.iter().map(|&i| Activation::ALL[i]).collect();
        let net = dyn_net(&widths, &activations, &values);
        let (inputs, outputs) = (widths[0] as usize, *widths.last().unwrap() as usize);
        let scale: Vec<f32> = (0..inputs).map(|i| values[i % values.len()].abs().max(1e-3)).collect();
        let offset: Vec<f32> = (0..inputs).map(|i| values[(i + 1) % values.len()]).collect();
        let test_inputs: Vec<f32> = values.iter().copied().cycle().take(vectors * inputs).collect();
        let test_outputs: Vec<f32> = values.iter().copied().cycle().skip(3).take(vectors * outputs).collect();
        // Names (version 3): "é" and a 64-byte name among them; no class, or 2 up to the outputs.
        let input_names: Vec<String> = (0..inputs).map(|i| if i == 1 { "é".repeat(32) } else { format!("x{i}") }).collect();
        let input_names: Vec<&str> = input_names.iter().map(String::as_str).collect();
        let classes = if classes < 2 { 0 } else { classes.min(outputs.max(2)) };
        let class_names: Vec<String> = (0..classes).map(|c| format!("class {c}")).collect();
        let class_names: Vec<&str> = class_names.iter().map(String::as_str).collect();
        let names = named.then_some(NamesSpec { inputs: &input_names, target: "y", classes: &class_names });
        let meta = Metadata {
            name: &name,
            normalization: normalized.then_some(NormalizationParams { offset: &offset, scale: &scale }),
            test_inputs: &test_inputs,
            test_outputs: &test_outputs,
            names,
        };
        let mut bytes = vec![0u8; encoded_len(&net, &meta).unwrap()];
        encode(&net, &meta, &mut bytes).unwrap();
        let file = WeightFile::parse_exact(&bytes).unwrap();
        prop_assert_eq!(file.version(), if named { 3 } else { 1 });
        match file.names() {
            Some(stored) => {
                prop_assert!(named);
                prop_assert_eq!(stored.inputs().collect::<Vec<_>>(), input_names.clone());
                prop_assert_eq!(stored.target(), "y");
                prop_assert_eq!(stored.classes().collect::<Vec<_>>(), class_names.clone());
                prop_assert_eq!(stored.class(classes), None);
            }
            None => prop_assert!(!named || !cfg!(feature = "names")),
        }
        prop_assert_eq!(file.name(), name.as_str());
        prop_assert_eq!(file.layers().as_slice().len(), widths.len() - 1);
        let stored: Vec<u32> = file.params().iter().map(f32::to_bits).collect();
        let original: Vec<u32> = params_of(&net).iter().map(|&v| (v as f32).to_bits()).collect();
        prop_assert_eq!(stored, original);
        prop_assert_eq!(file.normalization().is_some(), normalized);
        if let Some(norm) = file.normalization() {
            prop_assert_eq!(norm.scale.iter().collect::<Vec<_>>(), scale);
            prop_assert_eq!(norm.offset.iter().collect::<Vec<_>>(), offset);
        }
        prop_assert_eq!(file.test_vector_count(), vectors);
        for v in 0..vectors {
            let (x, y) = file.test_vector(v).unwrap();
            prop_assert_eq!(x.iter().collect::<Vec<_>>(), &test_inputs[v * inputs..(v + 1) * inputs]);
            prop_assert_eq!(y.iter().collect::<Vec<_>>(), &test_outputs[v * outputs..(v + 1) * outputs]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), magic in any::<bool>()) {
        let mut bytes = bytes;
        if magic && bytes.len() >= 5 {
            bytes[..5].copy_from_slice(b"NNWF\x01");
        }
        if let Ok(file) = WeightFile::parse(&bytes) {
            let _ = file.to_network::<Tiny>();
            let _ = file.borrow_network::<Tiny>();
        }
    }

    #[test]
    fn a_typed_network_round_trips_bit_for_bit(seed in any::<u64>()) {
        let net = Tiny::init(&mut rng(seed), nn_core::Init::GlorotNormal);
        let bytes = encode_tiny(&net);
        let loaded: Tiny = WeightFile::parse_exact(&bytes).unwrap().to_network().unwrap();
        prop_assert_eq!(loaded, net);
    }
}

#[test]
fn the_crc_is_the_crc_crates_crc32_iso_hdlc() {
    let reference = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut rng = common::rng(11);
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| rand_core::Rng::next_u32(&mut rng) as u8)
            .collect();
        assert_eq!(
            nn_core::format::crc32(&bytes),
            reference.checksum(&bytes),
            "{len} bytes"
        );
    }
    assert_eq!(nn_core::format::crc32(b"123456789"), 0xCBF4_3926); // the catalogue's check value
}

/// The tiny fixture's network with names (format version 3).
#[cfg(feature = "names")]
fn encode_named(names: NamesSpec<'_>) -> Result<Vec<u8>, Error> {
    let net = tiny();
    let meta = Metadata {
        name: "named",
        names: Some(names),
        ..Metadata::default()
    };
    let mut bytes = vec![0u8; encoded_len(&net, &meta)?];
    encode(&net, &meta, &mut bytes)?;
    Ok(bytes)
}

#[test]
#[cfg(feature = "names")] // read only with the feature (on by default)
fn names_are_stored_checked_and_every_damage_to_them_refused() {
    let names = NamesSpec {
        inputs: &["petal length", "petal width"],
        target: "species",
        classes: &["setosa", "virginica"],
    };
    let bytes = encode_named(names).unwrap();
    let file = WeightFile::parse_exact(&bytes).unwrap();
    assert_eq!(file.version(), 3);
    let stored = file.names().unwrap();
    assert_eq!(
        stored.inputs().collect::<Vec<_>>(),
        ["petal length", "petal width"]
    );
    assert_eq!(
        (stored.target(), stored.class(1), stored.class_count()),
        ("species", Some("virginica"), 2)
    );
    assert_eq!(
        file.to_network::<Tiny>().unwrap(),
        tiny(),
        "names change no parameter"
    );
    // The files without names are still version 1, byte for byte (the fixture).
    assert!(WeightFile::parse_exact(FIXTURE).unwrap().names().is_none());
    // Every truncation and every bit flip is refused.
    for end in 0..bytes.len() {
        assert!(
            WeightFile::parse_exact(&bytes[..end]).is_err(),
            "truncated at {end}"
        );
    }
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(
            WeightFile::parse_exact(&flipped).is_err(),
            "bit {bit} flipped and the file still loads"
        );
    }
    // What the encoder refuses, the reader would: names that do not fit the layers.
    let refusals = [
        (
            NamesSpec {
                inputs: &["a"],
                ..names
            },
            Error::MetadataShape {
                what: "input names",
                expected: 2,
                found: 1,
            },
        ),
        (
            NamesSpec {
                classes: &["one"],
                ..names
            },
            Error::MetadataShape {
                what: "class names",
                expected: 2,
                found: 1,
            },
        ),
        (
            NamesSpec {
                classes: &["a", "b", "c"],
                ..names
            },
            Error::MetadataShape {
                what: "class names",
                expected: 2,
                found: 3,
            },
        ),
        (
            NamesSpec {
                target: &"t".repeat(65),
                ..names
            },
            Error::ColumnNameTooLong { len: 65 },
        ),
    ];
    for (spec, error) in refusals {
        assert_eq!(encode_named(spec).unwrap_err(), error);
    }
    // A count that does not fit the layers, written by hand with the CRC fixed up: refused.
    let regression = encode_named(NamesSpec {
        classes: &[],
        ..names
    })
    .unwrap();
    // magic 4, version 1, name 1 + 5, kind 1, layers 1 + 2 · 3, normalized 1, vectors 1.
    let count_at = 21;
    assert_eq!(regression[count_at], 3, "two inputs and the target");
    let mut wrong = regression.clone();
    wrong[count_at] = 2;
    let crc = nn_core::format::crc32(&wrong[..wrong.len() - 4]);
    let end = wrong.len() - 4;
    wrong[end..].copy_from_slice(&crc.to_le_bytes());
    assert!(WeightFile::parse_exact(&wrong).is_err());
    // Well-formed names that do not fit the layers, the rest of the file rebuilt around them
    // (header padded to 4, body, CRC): the reader's own check refuses them.
    let body_at = {
        let file = WeightFile::parse_exact(&regression).unwrap();
        file.params().as_bytes().as_ptr() as usize - regression.as_ptr() as usize
    };
    for names in [
        &["a", "b"][..],
        &["a", "b", "t", "one class"],
        &["a", "b", "t", "c0", "c1", "c2"],
    ] {
        let mut rebuilt = regression[..count_at].to_vec();
        rebuilt.push(names.len() as u8);
        for name in names {
            rebuilt.push(name.len() as u8);
            rebuilt.extend(name.as_bytes());
        }
        rebuilt.resize(rebuilt.len().next_multiple_of(4), 0);
        rebuilt.extend(&regression[body_at..regression.len() - 4]);
        let crc = nn_core::format::crc32(&rebuilt);
        rebuilt.extend(crc.to_le_bytes());
        assert!(
            matches!(WeightFile::parse_exact(&rebuilt), Err(Error::MalformedHeader { reason }) if reason == "the names do not fit the layers"),
            "{names:?}: {:?}",
            WeightFile::parse_exact(&rebuilt)
        );
    }
}

/// What FORMAT.md tells other writers, checked: non-minimal varints within the byte limits
/// are read, padding bytes are not looked at, an f32 file may say any later version (with
/// the names section from version 3), names may be empty strings.
#[test]
fn what_other_writers_may_do() {
    let parse = |bytes: &[u8]| {
        WeightFile::parse_exact(bytes).map(|f| (f.version(), f.params().iter().collect::<Vec<_>>()))
    };
    let (_, params) = parse(FIXTURE).unwrap();
    let with_crc = |mut b: Vec<u8>| {
        let n = b.len() - 4;
        let crc = nn_core::format::crc32(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        b
    };
    // The version as the two-byte varint 81 00: the header grows by the padding byte's place.
    let mut longer = FIXTURE[..4].to_vec();
    longer.extend([0x81, 0x00]);
    longer.extend(&FIXTURE[5..0x17]);
    longer.extend(&FIXTURE[0x18..]);
    assert_eq!(parse(&with_crc(longer)).unwrap(), (1, params.clone()));
    // A padding byte that is not zero.
    let mut padded = FIXTURE.to_vec();
    padded[0x17] = 0xAB;
    assert_eq!(parse(&with_crc(padded)).unwrap(), (1, params.clone()));
    // The same f32 file saying version 2 (no names section before version 3).
    let mut v2 = FIXTURE.to_vec();
    v2[4] = 2;
    assert_eq!(parse(&with_crc(v2)).unwrap(), (2, params.clone()));
    // Version 3 with a names section of empty names: one per input, the target, no classes
    // (4 more header bytes: 03 00 00 00, then the body realigned to 4).
    let mut v3 = FIXTURE[..0x17].to_vec();
    v3[4] = 3;
    v3.extend([0x03, 0x00, 0x00, 0x00]);
    v3.resize(0x1c, 0);
    v3.extend(&FIXTURE[0x18..]);
    let v3 = with_crc(v3);
    assert_eq!(parse(&v3).unwrap(), (3, params));
    let file = WeightFile::parse_exact(&v3).unwrap();
    let names = file.names().unwrap();
    assert_eq!(
        (names.inputs().collect::<Vec<_>>(), names.target()),
        (vec!["", ""], "")
    );
}
