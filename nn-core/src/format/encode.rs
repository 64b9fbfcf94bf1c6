//! Writing a network and its metadata as a weight file, into a caller's buffer.

use super::int8::{
    Int8Model, Int8Rules, Int8Stage, TflmActivation, check_hidden, check_input, check_pre_activation,
    check_scales, check_softmax, check_tensor, check_tflm_activation, check_tflm_requantizers,
    hidden_uses_table,
};
use super::{
    Error, LOOKUP_FORMAT_VERSION, Layout, Location, MAGIC, MAX_COLUMN_NAME_LEN, ModelKind,
    NAMES_FORMAT_VERSION, Name, Names, Preamble, TFLM_FORMAT_VERSION, WireHeader,
};
use super::{check_finite, check_layer_chain, crc32};
use crate::Activation;
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
    /// The names of the input columns, the target and the classes (format version 3), or
    /// `None` (the file is then written as version 1 for f32, 2 for int8, as before).
    pub names: Option<NamesSpec<'a>>,
}

/// The names to store in a file (see [`Names`](super::Names)).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NamesSpec<'a> {
    /// One name per input, in input order.
    pub inputs: &'a [&'a str],
    /// The target column.
    pub target: &'a str,
    /// The classes, output by output (none for regression; two for one sigmoid output).
    pub classes: &'a [&'a str],
}

impl NamesSpec<'_> {
    /// Every name in file order: inputs, target, classes.
    fn all(&self) -> impl Iterator<Item = &str> {
        self.inputs
            .iter()
            .copied()
            .chain([self.target])
            .chain(self.classes.iter().copied())
    }
}

/// The names section as postcard writes a sequence of strings.
impl serde::Serialize for NamesSpec<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.all())
    }
}

/// Everything `encode` needs, checked.
struct Prepared<'a> {
    header: WireHeader<'a>,
    layout: Layout,
    preamble: Preamble,
}

/// The f32 file of `net`: its parameters checked, then the header.
fn prepare<'a>(net: &dyn LayerView, meta: &Metadata<'a>) -> Result<Prepared<'a>, Error> {
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
    prepare_header(layers, (ModelKind::F32, Int8Rules::NnCore), meta, false)
}

/// The int8 file of `model`: its slices' lengths and quantization values checked (as a
/// reader checks them), then the header.
fn prepare_int8<'a>(model: &Int8Model<'_>, meta: &Metadata<'a>) -> Result<Prepared<'a>, Error> {
    let mut layers = LayerList::default();
    for layer in &model.layers {
        // Int8Model holds at most MAX_LAYERS layers, as LayerList does.
        let _ = layers.0.push(layer.spec);
    }
    check_layer_chain(layers.as_slice())?;
    check_input(model.input)?;
    if model.rules == Int8Rules::TfliteMicro {
        return prepare_tflm(model, meta, layers);
    }
    let last = model.layers.len().saturating_sub(1);
    for (index, layer) in model.layers.iter().enumerate() {
        let outputs = usize::from(layer.spec.outputs);
        check_len("int8 weights", layer.spec.weight_count(), layer.weights.len())?;
        check_len("int8 bias", outputs, layer.bias.len())?;
        match layer.stage {
            Int8Stage::Requantize {
                multiplier,
                shift,
                output,
                lookup,
            } if index < last => {
                check_len("requantization multipliers", outputs, multiplier.len())?;
                check_hidden(
                    index,
                    layer.spec.activation,
                    multiplier.iter().copied(),
                    u32::from(shift),
                    output,
                )?;
                match lookup {
                    Some(lookup) if hidden_uses_table(layer.spec.activation) => {
                        check_pre_activation(index, lookup.input)?;
                    }
                    None if !hidden_uses_table(layer.spec.activation) => {}
                    _ => {
                        return Err(Error::MetadataShape {
                            what: "int8 activation tables (one for each hidden tanh or sigmoid layer, none elsewhere)",
                            expected: usize::from(hidden_uses_table(layer.spec.activation)),
                            found: usize::from(lookup.is_some()),
                        });
                    }
                }
            }
            Int8Stage::Dequantize { scale } if index == last => {
                check_len("dequantization scales", outputs, scale.len())?;
                check_scales(index, scale.iter().copied())?;
            }
            _ => {
                return Err(Error::MetadataShape {
                    what: "int8 stages (every layer requantizes but the last, which dequantizes)",
                    expected: last,
                    found: index,
                });
            }
        }
    }
    let tables = model
        .layers
        .iter()
        .any(|l| matches!(l.stage, Int8Stage::Requantize { lookup: Some(_), .. }));
    if model.input_tables.is_some() {
        return Err(Error::MetadataShape {
            what: "int8 input tables (TensorFlow Lite Micro's arithmetic only)",
            expected: 0,
            found: 1,
        });
    }
    prepare_header(layers, (ModelKind::Int8, Int8Rules::NnCore), meta, tables)
}

/// [`prepare_int8`] for a model of TensorFlow Lite Micro's arithmetic: every layer a
/// [`Int8Stage::Tflm`] whose activation part fits its activation, input tables instead of
/// a normalization.
fn prepare_tflm<'a>(
    model: &Int8Model<'_>,
    meta: &Metadata<'a>,
    layers: LayerList,
) -> Result<Prepared<'a>, Error> {
    let inputs = layers.as_slice().first().map_or(0, |l| usize::from(l.inputs));
    if let Some(tables) = model.input_tables {
        check_len("int8 input tables", 256 * inputs, tables.len())?;
    }
    if meta.normalization.is_some() {
        return Err(Error::MetadataShape {
            what: "f32 normalizations in a file of TensorFlow Lite Micro's arithmetic (it has input tables)",
            expected: 0,
            found: 1,
        });
    }
    let last = model.layers.len().saturating_sub(1);
    for (index, layer) in model.layers.iter().enumerate() {
        let outputs = usize::from(layer.spec.outputs);
        check_len("int8 weights", layer.spec.weight_count(), layer.weights.len())?;
        check_len("int8 bias", outputs, layer.bias.len())?;
        let Int8Stage::Tflm(stage) = layer.stage else {
            return Err(Error::MetadataShape {
                what: "TensorFlow Lite Micro stages (every layer of such a model has one)",
                expected: model.layers.len(),
                found: index,
            });
        };
        check_len("requantization multipliers", outputs, stage.multiplier.len())?;
        check_len("requantization shifts", outputs, stage.shift.len())?;
        check_tflm_activation(index, layer.spec.activation, index == last)?;
        check_tflm_requantizers(
            index,
            stage.multiplier.iter().copied(),
            stage.shift.iter().copied(),
        )?;
        check_tensor(
            stage.sums,
            Location::PreActivationScale { layer: index },
            Location::PreActivationZeroPoint { layer: index },
        )?;
        check_tensor(
            stage.output(),
            Location::OutputScale { layer: index },
            Location::OutputZeroPoint { layer: index },
        )?;
        let fits = match (stage.activation, layer.spec.activation) {
            (TflmActivation::Table { .. }, Activation::Tanh | Activation::Sigmoid) => true,
            (TflmActivation::Softmax { params, .. }, Activation::Softmax) => {
                check_softmax(index, params)?;
                true
            }
            (TflmActivation::Clamp, Activation::Identity | Activation::Relu) => true,
            _ => false,
        };
        if !fits {
            return Err(Error::MetadataShape {
                what: "TensorFlow Lite Micro activation stages (a table for tanh and sigmoid, softmax's parameters \
                       for softmax, none for linear and relu)",
                expected: index,
                found: index,
            });
        }
    }
    prepare_header(
        layers,
        (ModelKind::Int8, Int8Rules::TfliteMicro),
        meta,
        model.input_tables.is_some(),
    )
}

/// The header for `layers` of `kind` and `meta`, with the metadata checked. `extra` is
/// whether an int8 file has activation tables (nn-core's arithmetic: it is then version 4)
/// or input tables (TFLite Micro's: the header then says "normalized").
fn prepare_header<'a>(
    layers: LayerList,
    (kind, rules): (ModelKind, Int8Rules),
    meta: &Metadata<'a>,
    extra: bool,
) -> Result<Prepared<'a>, Error> {
    let tflm = rules == Int8Rules::TfliteMicro;
    let name = Some(meta.name)
        .filter(|n| n.len() <= super::MAX_NAME_LEN)
        .ok_or(Error::NameTooLong { len: meta.name.len() })?;
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
    if let Some(names) = meta.names {
        check_names(&names, inputs, outputs)?;
    }
    let header = WireHeader {
        name: Name(name.as_bytes()),
        kind: kind.to_byte(rules),
        layers,
        normalized: if tflm { extra } else { meta.normalization.is_some() },
        test_vectors,
        names: Names::default(),
    };
    let preamble = preamble(kind, rules, meta, !tflm && extra);
    let header_len = postcard::experimental::serialized_size(&preamble)
        .and_then(|a| Ok(a + postcard::experimental::serialized_size(&header)?))
        .and_then(|a| {
            Ok(a + match (meta.names, preamble.version >= NAMES_FORMAT_VERSION) {
                (Some(n), _) => postcard::experimental::serialized_size(&n)?,
                // An empty names section: a count of 0.
                (None, true) => 1,
                (None, false) => 0,
            })
        })
        .map_err(|_| Error::MalformedHeader {
            reason: "header does not encode",
        })?;
    let layout =
        Layout::of(header_len, &header, (kind, rules), preamble.version, usize::MAX).map_err(|_| {
            Error::MalformedHeader {
                reason: "the file would be larger than memory",
            }
        })?;
    Ok(Prepared {
        header,
        layout,
        preamble,
    })
}

/// The preamble: version 5 for TensorFlow Lite Micro's arithmetic, 4 for an int8 file with
/// activation tables, 3 for a file with names, else the kind's own version.
fn preamble(kind: ModelKind, rules: Int8Rules, meta: &Metadata<'_>, tables: bool) -> Preamble {
    Preamble {
        magic: MAGIC,
        version: if rules == Int8Rules::TfliteMicro {
            TFLM_FORMAT_VERSION
        } else if tables {
            LOOKUP_FORMAT_VERSION
        } else if meta.names.is_some() {
            NAMES_FORMAT_VERSION
        } else {
            kind.version()
        },
    }
}

/// Names the reader would accept: one per input, a target, at most one class per output
/// (two for a single output), each at most [`MAX_COLUMN_NAME_LEN`] bytes.
fn check_names(names: &NamesSpec<'_>, inputs: usize, outputs: usize) -> Result<(), Error> {
    check_len("input names", inputs, names.inputs.len())?;
    if names.classes.len() > outputs.max(2) || names.classes.len() == 1 {
        return Err(Error::MetadataShape {
            what: "class names",
            expected: outputs.max(2),
            found: names.classes.len(),
        });
    }
    if let Some(name) = names.all().find(|n| n.len() > MAX_COLUMN_NAME_LEN) {
        return Err(Error::ColumnNameTooLong { len: name.len() });
    }
    Ok(())
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
    let prepared = prepare(net, meta)?;
    write_file(prepared, meta, None, out, |writer| {
        for index in 0..net.layer_count() {
            if let Some(layer) = net.layer(index) {
                writer.write(layer.weights);
                writer.write(layer.bias);
            }
        }
    })
}

/// The length of the weight file [`encode_int8`] writes for `model` and `meta`.
///
/// # Errors
/// As [`encode_int8`], but for [`Error::BufferTooSmall`].
pub fn encoded_len_int8(model: &Int8Model<'_>, meta: &Metadata<'_>) -> Result<usize, Error> {
    Ok(prepare_int8(model, meta)?.layout.total())
}

/// Writes the int8 network `model` and `meta` as a weight file (model kind int8, format
/// version 2) at the start of `out`; returns its length. On error `out` is untouched.
///
/// # Errors
/// Those of [`encode`] for the layers and metadata; [`Error::MetadataShape`] for slices whose
/// lengths do not fit the layers (or a last layer that requantizes, a hidden one that
/// dequantizes); the reader's errors for quantization values no file may hold
/// ([`Error::NotPositive`], [`Error::OutOfRange`], [`Error::NonFinite`],
/// [`Error::UnsupportedInt8Activation`]).
pub fn encode_int8(model: &Int8Model<'_>, meta: &Metadata<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let prepared = prepare_int8(model, meta)?;
    write_file(prepared, meta, model.input_tables, out, |writer| {
        writer.write(&[model.input.scale]);
        writer.write_i32(&[model.input.zero_point]);
        if model.rules == Int8Rules::TfliteMicro {
            writer.write_i32(&[i32::from(model.rounding == crate::tflm::Rounding::Single)]);
        }
        for layer in &model.layers {
            writer.write_bytes_padded(bytemuck::cast_slice(layer.weights));
            writer.write_i32(layer.bias);
            match layer.stage {
                Int8Stage::Requantize {
                    multiplier,
                    shift,
                    output,
                    lookup,
                } => {
                    writer.write_i32(multiplier);
                    writer.write_i32(&[i32::from(shift)]);
                    if let Some(lookup) = lookup {
                        writer.write(&[lookup.input.scale]);
                        writer.write_i32(&[lookup.input.zero_point]);
                        writer.write_bytes_padded(bytemuck::cast_slice(lookup.table.as_slice()));
                    }
                    writer.write(&[output.scale]);
                    writer.write_i32(&[output.zero_point]);
                }
                Int8Stage::Dequantize { scale } => writer.write(scale),
                Int8Stage::Tflm(stage) => {
                    writer.write_i32(stage.multiplier);
                    writer.write_i32(stage.shift);
                    writer.write(&[stage.sums.scale]);
                    writer.write_i32(&[stage.sums.zero_point]);
                    match stage.activation {
                        TflmActivation::Clamp => {}
                        TflmActivation::Table { output, table } => {
                            writer.write(&[output.scale]);
                            writer.write_i32(&[output.zero_point]);
                            writer.write_bytes_padded(bytemuck::cast_slice(table.as_slice()));
                        }
                        TflmActivation::Softmax { output, params } => {
                            writer.write(&[output.scale]);
                            writer.write_i32(&[
                                output.zero_point,
                                params.multiplier,
                                params.left_shift,
                                params.diff_min,
                            ]);
                        }
                    }
                }
            }
        }
    })
}

/// Writes a checked file: preamble, header, padding, normalization (or `input_tables`), the
/// parameters (`params`), test vectors, CRC.
fn write_file(
    prepared: Prepared,
    meta: &Metadata<'_>,
    input_tables: Option<&[i8]>,
    out: &mut [u8],
    params: impl FnOnce(&mut F32Writer<'_>),
) -> Result<usize, Error> {
    let Prepared {
        header,
        layout,
        preamble,
    } = prepared;
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
    let used = postcard::to_slice(&preamble, file).map_err(header_error)?.len();
    let mut used = used
        + postcard::to_slice(&header, &mut file[used..])
            .map_err(header_error)?
            .len();
    if let Some(names) = meta.names {
        used += postcard::to_slice(&names, &mut file[used..])
            .map_err(header_error)?
            .len();
    } else if preamble.version >= NAMES_FORMAT_VERSION {
        // No names: a count of 0.
        file[used] = 0;
        used += 1;
    }
    let mut writer = F32Writer {
        bytes: file,
        at: used,
    };
    writer.pad_to(layout.body);
    if let Some(norm) = meta.normalization {
        writer.write(norm.offset);
        writer.write(norm.scale);
    }
    if let Some(tables) = input_tables {
        writer.write_bytes_padded(bytemuck::cast_slice(tables));
    }
    params(&mut writer);
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
    let crc_start = layout.crc_start;
    let crc = crc32(&writer.bytes[..crc_start]);
    writer.bytes[crc_start..].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}

/// Writes values little-endian into a buffer already checked to be long enough.
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
        self.write_words(values.iter().map(|v| v.to_le_bytes()));
    }

    fn write_i32(&mut self, values: &[i32]) {
        self.write_words(values.iter().map(|v| v.to_le_bytes()));
    }

    fn write_words(&mut self, words: impl IntoIterator<Item = [u8; 4]>) {
        for word in words {
            self.bytes[self.at..self.at + 4].copy_from_slice(&word);
            self.at += 4;
        }
    }

    /// Bytes, then zeros up to a multiple of 4 of them.
    fn write_bytes_padded(&mut self, values: &[u8]) {
        self.bytes[self.at..self.at + values.len()].copy_from_slice(values);
        self.at += values.len();
        self.pad_to(self.at.next_multiple_of(4));
    }
}
