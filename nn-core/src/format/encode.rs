//! Writing a network and its metadata as a weight file, into a caller's buffer.

use super::{Error, FORMAT_VERSION, Layout, Location, MAGIC, ModelKind, Preamble, WireHeader};
use super::{check_finite, check_layer_chain, crc32};
use crate::view::{LayerList, LayerView};

/// Per-feature input normalization to store: `x' = (x - offset) * scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalizationParams<'a> {
    /// One offset per input feature.
    pub offset: &'a [f32],
    /// One scale per input feature.
    pub scale: &'a [f32],
}

/// What a weight file carries besides the parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metadata<'a> {
    /// The model's name (at most [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes), e.g. `sine`.
    pub name: &'a str,
    /// Input normalization, if the network expects normalized inputs.
    pub normalization: Option<NormalizationParams<'a>>,
    /// Test vector inputs, raw (before normalization), one after another.
    pub test_inputs: &'a [f32],
    /// Expected outputs of the test vectors, one after another.
    pub test_outputs: &'a [f32],
}

/// Everything `encode` needs, checked.
struct Prepared {
    header: WireHeader,
    layout: Layout,
}

fn prepare(net: &dyn LayerView, meta: &Metadata<'_>) -> Result<Prepared, Error> {
    let count = net.layer_count();
    let layers: LayerList = net.layer_list().ok_or(Error::TooManyLayers { count })?;
    check_layer_chain(layers.as_slice())?;
    for (layer, spec) in layers.as_slice().iter().enumerate() {
        let params = net.layer(layer).ok_or(Error::NoLayers)?;
        check_len("weights", spec.weight_count(), params.weights.len())?;
        check_len("bias", usize::from(spec.outputs), params.bias.len())?;
        check_finite(params.weights.iter().copied(), |index| Location::Weight {
            layer,
            index,
        })?;
        check_finite(params.bias.iter().copied(), |index| Location::Bias {
            layer,
            index,
        })?;
    }
    let name =
        heapless::String::try_from(meta.name).map_err(|_| Error::NameTooLong { len: meta.name.len() })?;
    let inputs = layers.as_slice().first().map_or(0, |l| usize::from(l.inputs));
    let outputs = layers.as_slice().last().map_or(0, |l| usize::from(l.outputs));
    if let Some(norm) = meta.normalization {
        check_len("normalization offset", inputs, norm.offset.len())?;
        check_len("normalization scale", inputs, norm.scale.len())?;
        check_finite(norm.offset.iter().copied(), |feature| {
            Location::NormalizationOffset { feature }
        })?;
        check_finite(norm.scale.iter().copied(), |feature| {
            Location::NormalizationScale { feature }
        })?;
        if let Some(feature) = norm.scale.iter().position(|&s| s == 0.0) {
            return Err(Error::ZeroScale { feature });
        }
    }
    let vectors = meta.test_inputs.len() / inputs;
    check_len("test inputs", vectors * inputs, meta.test_inputs.len())?;
    check_len("test outputs", vectors * outputs, meta.test_outputs.len())?;
    let test_vectors = u16::try_from(vectors).map_err(|_| Error::TooManyTestVectors { count: vectors })?;
    for (vector, (input, output)) in meta
        .test_inputs
        .chunks_exact(inputs)
        .zip(meta.test_outputs.chunks_exact(outputs))
        .enumerate()
    {
        check_finite(input.iter().copied(), |index| Location::TestInput {
            vector,
            index,
        })?;
        check_finite(output.iter().copied(), |index| Location::TestOutput {
            vector,
            index,
        })?;
    }
    let header = WireHeader {
        name,
        kind: ModelKind::F32.to_byte(),
        layers,
        normalized: meta.normalization.is_some(),
        test_vectors,
    };
    let header_len = postcard::experimental::serialized_size(&preamble())
        .and_then(|a| Ok(a + postcard::experimental::serialized_size(&header)?))
        .map_err(|_| Error::MalformedHeader {
            reason: "header does not encode",
        })?;
    let layout = Layout::of(header_len, &header);
    Ok(Prepared { header, layout })
}

fn preamble() -> Preamble {
    Preamble {
        magic: MAGIC,
        version: FORMAT_VERSION,
    }
}

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::MetadataShape {
            what,
            expected,
            found,
        })
    }
}

/// The length of the weight file [`encode`] writes for `net` and `meta`.
///
/// # Errors
/// As [`encode`], but for [`Error::BufferTooSmall`].
pub fn encoded_len(net: &dyn LayerView, meta: &Metadata<'_>) -> Result<usize, Error> {
    Ok(prepare(net, meta)?.layout.total())
}

/// Writes `net` and `meta` as a weight file at the start of `out`; returns its length.
///
/// The file is written only once everything was checked: on error `out` is untouched.
///
/// # Errors
/// [`Error::TooManyLayers`] (over [`MAX_LAYERS`](crate::MAX_LAYERS)), the layer-chain
/// errors, [`Error::NonFinite`] and [`Error::ZeroScale`] for values no file may hold,
/// [`Error::NameTooLong`] (over [`MAX_NAME_LEN`](super::MAX_NAME_LEN)), [`Error::MetadataShape`] for
/// normalization or test vectors that do not fit the network,
/// [`Error::TooManyTestVectors`], and [`Error::BufferTooSmall`].
pub fn encode(net: &dyn LayerView, meta: &Metadata<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let Prepared { header, layout } = prepare(net, meta)?;
    let vectors = usize::from(header.test_vectors);
    let total = layout.total();
    let available = out.len();
    let file = out.get_mut(..total).ok_or(Error::BufferTooSmall {
        needed: total,
        available,
    })?;
    let header_error = |_| Error::MalformedHeader {
        reason: "header does not encode",
    };
    let used = postcard::to_slice(&preamble(), file).map_err(header_error)?.len();
    let used = used
        + postcard::to_slice(&header, &mut file[used..])
            .map_err(header_error)?
            .len();
    let mut writer = F32Writer {
        bytes: file,
        at: used,
    };
    writer.pad_to(layout.body);
    if let Some(norm) = meta.normalization {
        writer.write(norm.offset);
        writer.write(norm.scale);
    }
    for index in 0..net.layer_count() {
        if let Some(layer) = net.layer(index) {
            writer.write(layer.weights);
            writer.write(layer.bias);
        }
    }
    let (inputs, outputs) = (
        meta.test_inputs.len() / vectors.max(1),
        meta.test_outputs.len() / vectors.max(1),
    );
    if vectors > 0 {
        for (input, output) in meta
            .test_inputs
            .chunks_exact(inputs)
            .zip(meta.test_outputs.chunks_exact(outputs))
        {
            writer.write(input);
            writer.write(output);
        }
    }
    let crc_start = layout.crc_start();
    let crc = crc32(&writer.bytes[..crc_start]);
    writer.bytes[crc_start..].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}

/// Writes f32 values little-endian into a buffer already checked to be long enough.
struct F32Writer<'b> {
    bytes: &'b mut [u8],
    at: usize,
}

impl F32Writer<'_> {
    fn pad_to(&mut self, end: usize) {
        self.bytes[self.at..end].iter_mut().for_each(|b| *b = 0);
        self.at = end;
    }

    fn write(&mut self, values: &[f32]) {
        for value in values {
            self.bytes[self.at..self.at + 4].copy_from_slice(&value.to_le_bytes());
            self.at += 4;
        }
    }
}
