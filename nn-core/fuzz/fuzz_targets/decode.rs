//! Feeds arbitrary bytes to the weight-file decoder and, when a file is accepted, to every
//! accessor and to typed loads: nothing may panic, a file that loads must re-encode to a
//! file that decodes to the same contents, and its header must be what postcard's own
//! decoder reads (nn-core reads it with a small decoder of its own).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn_core::{
    Dense, Identity, Layer, LayerView, Metadata, NormalizationParams, Relu, Sigmoid, Softmax, Tanh,
    Trainable, WeightFile, encode, network,
};

type Tiny = network![Dense<2, 3, Tanh>, Dense<3, 1, Sigmoid>];
type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];
type Small = network![Dense<1, 1, Identity>, Dense<1, 2, Softmax>];

fn exercise<N: Trainable>(file: &WeightFile<'_>) {
    if let Ok(net) = file.to_network::<N>() {
        let _ = net.predict(&<N::Input as nn_core::Vector>::zeroed());
        // A file that loads re-encodes to a file with the same contents.
        let owned = OwnedMetadata::of(file);
        let mut out = vec![0u8; file.len() + 64];
        let len = encode(&net, &owned.meta(file), &mut out).expect("a loaded file re-encodes");
        let again = WeightFile::parse_exact(&out[..len]).expect("a re-encoded file decodes");
        assert_eq!(again.params(), file.params());
        assert_same_metadata(&again, file);
    }
    if let Ok(net) = file.borrow_network::<N>() {
        let _ = net.predict(&<N::Input as nn_core::Vector>::zeroed());
        let _ = net.layer_count();
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    // The CRC stops almost every mutation; also try the input with its last four bytes
    // replaced by the right CRC, so the checks behind it (layers, values, shapes) get fuzzed.
    if data.len() >= 4 {
        let mut fixed = data.to_vec();
        let end = fixed.len() - 4;
        let crc = nn_core::format::crc32(&fixed[..end]);
        fixed[end..].copy_from_slice(&crc.to_le_bytes());
        check(&fixed);
    }
});

/// The preamble and header as serde and postcard decode them.
#[derive(serde::Deserialize)]
struct ReferencePreamble {
    magic: [u8; 4],
    version: u16,
}

#[derive(serde::Deserialize)]
struct ReferenceHeader<'a> {
    name: &'a str,
    kind: u8,
    layers: nn_core::LayerList,
    normalized: bool,
    test_vectors: u16,
}

/// An accepted file's header is what postcard reads there.
fn assert_postcard_reads_the_same(data: &[u8], file: &WeightFile<'_>) {
    let (preamble, rest) =
        postcard::take_from_bytes::<ReferencePreamble>(data).expect("postcard reads an accepted preamble");
    let (header, _) =
        postcard::take_from_bytes::<ReferenceHeader>(rest).expect("postcard reads an accepted header");
    assert_eq!(preamble.magic, nn_core::format::MAGIC);
    assert_eq!(preamble.version, file.version());
    assert_eq!(header.name, file.name());
    let tflm = file.int8_rules() == nn_core::Int8Rules::TfliteMicro;
    let kind = match file.kind() {
        nn_core::ModelKind::F32 => 0,
        _ if tflm => 2,
        _ => 1,
    };
    assert_eq!(header.kind, kind);
    assert_eq!(&header.layers, file.layers());
    // A TFLite Micro file's flag means input tables, not a normalization.
    assert_eq!(header.normalized, file.normalization().is_some() || (tflm && header.normalized));
    assert_eq!(usize::from(header.test_vectors), file.test_vector_count());
}

fn check(data: &[u8]) {
    let Ok(file) = WeightFile::parse(data) else { return };
    assert_postcard_reads_the_same(data, &file);
    let _ = (
        file.name(),
        file.layers().to_string(),
        file.crc(),
        file.params().iter().count(),
    );
    if let Some(norm) = file.normalization() {
        let mut x = vec![1.0; file.input_len()];
        norm.apply(&mut x);
    }
    for i in 0..=file.test_vector_count() {
        let _ = file.test_vector(i);
    }
    exercise::<Tiny>(&file);
    exercise::<Sine>(&file);
    exercise::<Small>(&file);
    if file.kind() == nn_core::ModelKind::Int8 {
        exercise_int8(data, file.len());
    }
}

/// An int8 file, copied to aligned memory (as in flash): its run-time-shaped and typed
/// forms run, and it re-encodes to the same file.
fn exercise_int8(data: &[u8], len: usize) {
    let mut words = vec![0u32; len.div_ceil(4)];
    let bytes = &mut bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..len];
    bytes.copy_from_slice(&data[..len]);
    let Ok(file) = WeightFile::parse_exact(bytes) else {
        panic!("an accepted file parses again")
    };
    let model = file.int8_model().expect("an aligned int8 file borrows");
    let width = model.widest_layer();
    let (mut a, mut b, mut y) = (
        vec![0i8; width],
        vec![0i8; width],
        vec![0.0f32; file.output_len()],
    );
    let x = vec![0.5f32; file.input_len()];
    model
        .predict(&x, &mut a, &mut b, &mut y)
        .expect("the model's own widths fit");
    if let Ok(net) = file.borrow_int8::<Sine>() {
        let _ = net.predict(&[0.5]);
    }
    if let Ok(net) = file.borrow_int8::<Small>() {
        let _ = net.predict(&[0.5]);
    }
    let owned = OwnedMetadata::of(&file);
    let meta = owned.meta(&file);
    let mut again_words = vec![0u32; (len + 64).div_ceil(4)];
    let out = bytemuck::cast_slice_mut::<u32, u8>(&mut again_words);
    let written = nn_core::encode_int8(&model, &meta, out).expect("a loaded int8 file re-encodes");
    let again = WeightFile::parse_exact(&out[..written]).expect("a re-encoded int8 file decodes");
    assert_eq!(again.int8_model().expect("aligned"), model);
    assert_same_metadata(&again, &file);
}

/// A file's normalization and test vectors, copied out, to write it again.
struct OwnedMetadata<'f> {
    offset: Vec<f32>,
    scale: Vec<f32>,
    inputs: Vec<f32>,
    outputs: Vec<f32>,
    /// Input, target and class names (version 3), borrowed from the file.
    names: Option<(Vec<&'f str>, &'f str, Vec<&'f str>)>,
}

impl<'f> OwnedMetadata<'f> {
    fn of(file: &WeightFile<'f>) -> OwnedMetadata<'f> {
        let (offset, scale) = match file.normalization() {
            Some(n) => (n.offset.iter().collect(), n.scale.iter().collect()),
            None => (vec![], vec![]),
        };
        let (mut inputs, mut outputs) = (vec![], vec![]);
        for i in 0..file.test_vector_count() {
            let (x, y) = file.test_vector(i).expect("counted vector");
            inputs.extend(x.iter());
            outputs.extend(y.iter());
        }
        OwnedMetadata {
            offset,
            scale,
            inputs,
            outputs,
            names: file
                .names()
                .map(|n| (n.inputs().collect(), n.target(), n.classes().collect())),
        }
    }

    fn meta<'a>(&'a self, file: &WeightFile<'a>) -> Metadata<'a> {
        Metadata {
            name: file.name(),
            normalization: file.normalization().map(|_| NormalizationParams {
                offset: &self.offset,
                scale: &self.scale,
            }),
            test_inputs: &self.inputs,
            test_outputs: &self.outputs,
            names: self
                .names
                .as_ref()
                .map(|(inputs, target, classes)| nn_core::NamesSpec {
                    inputs,
                    target,
                    classes,
                }),
        }
    }
}

/// A re-encoded file says what the original said.
fn assert_same_metadata(again: &WeightFile<'_>, file: &WeightFile<'_>) {
    assert_eq!((again.name(), again.layers()), (file.name(), file.layers()));
    assert_eq!(again.normalization(), file.normalization());
    assert_eq!(again.test_vector_count(), file.test_vector_count());
    let listed = |f: &WeightFile<'_>| {
        f.names().map(|n| {
            n.inputs()
                .chain([n.target()])
                .chain(n.classes())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(listed(again), listed(file));
    for i in 0..file.test_vector_count() {
        assert_eq!(again.test_vector(i), file.test_vector(i));
    }
}
