//! The one error type of the weight file: every way a file can be wrong, each its own variant.

use core::fmt;

use crate::view::LayerSpec;

/// Where in a weight file a value sits (indices count from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Weight `index` (row-major `[out][in]`) of layer `layer`.
    Weight {
        /// Layer index.
        layer: usize,
        /// Index within the layer's weights.
        index: usize,
    },
    /// Bias `index` of layer `layer`.
    Bias {
        /// Layer index.
        layer: usize,
        /// Output index.
        index: usize,
    },
    /// The normalization offset of input feature `feature`.
    NormalizationOffset {
        /// Feature index.
        feature: usize,
    },
    /// The normalization scale of input feature `feature`.
    NormalizationScale {
        /// Feature index.
        feature: usize,
    },
    /// Element `index` of the input of test vector `vector`.
    TestInput {
        /// Test vector index.
        vector: usize,
        /// Element index.
        index: usize,
    },
    /// Element `index` of the expected output of test vector `vector`.
    TestOutput {
        /// Test vector index.
        vector: usize,
        /// Element index.
        index: usize,
    },
    /// The scale of an int8 file's input tensor.
    InputScale,
    /// The zero point of an int8 file's input tensor.
    InputZeroPoint,
    /// The requantization multiplier of output `channel` of hidden layer `layer`.
    Multiplier {
        /// Layer index.
        layer: usize,
        /// Output index.
        channel: usize,
    },
    /// The requantization shift of hidden layer `layer`.
    Shift {
        /// Layer index.
        layer: usize,
    },
    /// The scale of hidden layer `layer`'s output tensor.
    OutputScale {
        /// Layer index.
        layer: usize,
    },
    /// The zero point of hidden layer `layer`'s output tensor.
    OutputZeroPoint {
        /// Layer index.
        layer: usize,
    },
    /// The scale of hidden tanh or sigmoid layer `layer`'s pre-activation tensor.
    PreActivationScale {
        /// Layer index.
        layer: usize,
    },
    /// The zero point of hidden tanh or sigmoid layer `layer`'s pre-activation tensor.
    PreActivationZeroPoint {
        /// Layer index.
        layer: usize,
    },
    /// The requantization shift of output `channel` of layer `layer` (TFLite Micro's
    /// arithmetic: one per output).
    ChannelShift {
        /// Layer index.
        layer: usize,
        /// Output index.
        channel: usize,
    },
    /// A softmax parameter of layer `layer` (TFLite Micro's arithmetic): `multiplier`,
    /// `left shift` or `smallest difference`.
    Softmax {
        /// Layer index.
        layer: usize,
        /// Which parameter.
        parameter: &'static str,
    },
    /// The rounding word of a file of TensorFlow Lite Micro's arithmetic (0 double, 1 single).
    Rounding,
    /// The dequantization scale of output `channel` of the last layer `layer`.
    DequantizationScale {
        /// Layer index.
        layer: usize,
        /// Output index.
        channel: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Location::Weight { layer, index } => write!(f, "weight {index} of layer {layer}"),
            Location::Bias { layer, index } => write!(f, "bias {index} of layer {layer}"),
            Location::NormalizationOffset { feature } => {
                write!(f, "normalization offset of feature {feature}")
            }
            Location::NormalizationScale { feature } => write!(f, "normalization scale of feature {feature}"),
            Location::TestInput { vector, index } => write!(f, "input {index} of test vector {vector}"),
            Location::TestOutput { vector, index } => {
                write!(f, "expected output {index} of test vector {vector}")
            }
            Location::InputScale => f.write_str("the input quantization scale"),
            Location::InputZeroPoint => f.write_str("the input zero point"),
            Location::Multiplier { layer, channel } => {
                write!(f, "requantization multiplier {channel} of layer {layer}")
            }
            Location::Shift { layer } => write!(f, "the requantization shift of layer {layer}"),
            Location::OutputScale { layer } => write!(f, "the output scale of layer {layer}"),
            Location::OutputZeroPoint { layer } => write!(f, "the output zero point of layer {layer}"),
            Location::PreActivationScale { layer } => write!(f, "the pre-activation scale of layer {layer}"),
            Location::PreActivationZeroPoint { layer } => {
                write!(f, "the pre-activation zero point of layer {layer}")
            }
            Location::ChannelShift { layer, channel } => {
                write!(f, "requantization shift {channel} of layer {layer}")
            }
            Location::Softmax { layer, parameter } => write!(f, "the softmax {parameter} of layer {layer}"),
            Location::Rounding => f.write_str("the requantization rounding (0 double, 1 single)"),
            Location::DequantizationScale { layer, channel } => {
                write!(f, "dequantization scale {channel} of layer {layer}")
            }
        }
    }
}

/// A layer in a message: its shape (`16-16 relu`), or `none`.
struct LayerText(Option<LayerSpec>);

impl fmt::Display for LayerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(spec) => spec.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// A value that is not a finite number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFiniteValue {
    /// Not a number.
    NaN,
    /// +∞.
    PositiveInfinity,
    /// -∞.
    NegativeInfinity,
}

impl NonFiniteValue {
    /// What `value` is if it is not finite, `None` if it is finite.
    pub fn of(value: f32) -> Option<NonFiniteValue> {
        if value.is_nan() {
            Some(NonFiniteValue::NaN)
        } else if value == f32::INFINITY {
            Some(NonFiniteValue::PositiveInfinity)
        } else if value == f32::NEG_INFINITY {
            Some(NonFiniteValue::NegativeInfinity)
        } else {
            None
        }
    }
}

impl fmt::Display for NonFiniteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NonFiniteValue::NaN => "NaN",
            NonFiniteValue::PositiveInfinity => "+infinity",
            NonFiniteValue::NegativeInfinity => "-infinity",
        })
    }
}

/// Everything that can be wrong with a weight file, or with a network or metadata being
/// written to one.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first four bytes are not [`MAGIC`](super::MAGIC): this is not a weight file
    /// (erased flash reads `ff ff ff ff`).
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// The file is of another format version than this build reads.
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
    },
    /// The file ends before its header says it does.
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the header calls for, when the header could be read.
        needed: Option<usize>,
    },
    /// The header cannot be decoded (bad varint, unknown activation, bad UTF-8 name, ...).
    MalformedHeader {
        /// What the decoder found wrong.
        reason: &'static str,
    },
    /// The CRC-32 at the end does not match the bytes before it: the file is corrupt.
    CrcMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC computed over the file.
        computed: u32,
    },
    /// The model kind is not one this build runs.
    UnsupportedModelKind {
        /// The kind byte in the file.
        found: u8,
    },
    /// The network has no layers.
    NoLayers,
    /// The network has more layers than a file holds.
    TooManyLayers {
        /// Layers in the network.
        count: usize,
    },
    /// A layer with zero inputs or zero outputs.
    EmptyLayer {
        /// Layer index.
        layer: usize,
    },
    /// A layer's outputs do not match the next layer's inputs.
    LayersDisconnected {
        /// Index of the first of the two layers.
        layer: usize,
        /// Its outputs.
        outputs: u16,
        /// Inputs of the layer after it.
        next_inputs: u16,
    },
    /// A parameter, normalization value or test value is NaN or infinite.
    NonFinite {
        /// Where it is.
        location: Location,
        /// What it is.
        value: NonFiniteValue,
    },
    /// A normalization scale is zero (every input would map to one value).
    ZeroScale {
        /// Feature index.
        feature: usize,
    },
    /// Bytes follow the end of the file where none were expected.
    TrailingBytes {
        /// Bytes given.
        len: usize,
        /// Length of the weight file they start with.
        file_len: usize,
    },
    /// The file's layers are not the layers of the network type it is loaded into: the
    /// first layer where they differ.
    ShapeMismatch {
        /// Index of that layer.
        layer: usize,
        /// The file's layer there (`None`: the file has no more layers).
        file: Option<LayerSpec>,
        /// The network type's layer there (`None`: the type has no more layers).
        expected: Option<LayerSpec>,
    },
    /// The parameters are not 4-byte aligned in memory, so they cannot be borrowed as `f32`
    /// (place the file at a 4-byte aligned address, or load a copy).
    Misaligned {
        /// Address of the parameter section.
        address: usize,
    },
    /// The model name is longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes.
    NameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A column or class name longer than
    /// [`MAX_COLUMN_NAME_LEN`](super::MAX_COLUMN_NAME_LEN) bytes.
    ColumnNameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Normalization or test-vector data whose length does not fit the network.
    MetadataShape {
        /// Which data.
        what: &'static str,
        /// The length the network calls for.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// More test vectors than a file holds (65535).
    TooManyTestVectors {
        /// Number given.
        count: usize,
    },
    /// The flash driver failed (see [`crate::store`]).
    Flash(embedded_storage::nor_flash::NorFlashErrorKind),
    /// Neither flash slot holds a valid weight file.
    NoValidModel,
    /// The weight file does not fit a flash slot.
    TooLargeForSlot {
        /// Bytes of the file.
        len: usize,
        /// Bytes a slot holds for a file.
        slot: usize,
    },
    /// An int8 quantization value outside its range (multiplier, shift, zero point).
    OutOfRange {
        /// Where it is.
        location: Location,
        /// The value.
        value: i64,
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// The model is wider than the run-time path's scratch holds (see
    /// [`runtime::Scratch`](crate::runtime::Scratch)): its capacity is fixed when the program
    /// is built.
    OverCapacity {
        /// Units of the model's widest layer (inputs or outputs).
        widest: usize,
        /// Units the scratch holds per layer.
        capacity: usize,
    },
    /// An int8 quantization scale that is zero or negative.
    NotPositive {
        /// Where it is.
        location: Location,
    },
    /// The file holds another model kind than the one asked for (an int8 file loaded as an
    /// f32 network, or the other way round).
    WrongModelKind {
        /// The kind in the file.
        found: super::ModelKind,
        /// The kind asked for.
        expected: super::ModelKind,
    },
    /// A hidden layer activation the int8 kind does not have (hidden layers are linear or
    /// ReLU, and from format version 4 tanh or sigmoid by a table; the output layer may have
    /// any activation, applied in f32).
    UnsupportedInt8Activation {
        /// Layer index.
        layer: usize,
        /// Its activation.
        activation: crate::Activation,
    },
    /// The output buffer is too small for the encoded file.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// The model kinds this build reads, for the message of [`Error::UnsupportedModelKind`].
#[cfg(feature = "int8")]
const KINDS_READ: &str = "0 = f32, 1 = int8 from version 2, 2 = TFLite Micro int8 from version 5";
#[cfg(not(feature = "int8"))]
const KINDS_READ: &str = "0 = f32; int8 files need nn-core's int8 feature";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadMagic { found } => write!(
                f,
                "not a weight file: it starts with bytes {:02x} {:02x} {:02x} {:02x}, expected \"NNWF\"",
                found[0], found[1], found[2], found[3]
            ),
            Error::UnsupportedVersion { found } => {
                write!(
                    f,
                    "format version {found}, this build reads versions 1 to {}",
                    super::FORMAT_VERSION
                )
            }
            Error::Truncated {
                len,
                needed: Some(needed),
            } => {
                write!(f, "truncated at byte {len}: the header calls for {needed} bytes")
            }
            Error::Truncated { len, needed: None } => write!(f, "truncated at byte {len}, inside the header"),
            Error::MalformedHeader { reason } => write!(f, "malformed header: {reason}"),
            Error::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: file is corrupt (stored {stored:08x}, computed {computed:08x})"
            ),
            Error::UnsupportedModelKind { found } => {
                write!(
                    f,
                    "model kind {found} is not supported by this build ({KINDS_READ})"
                )
            }
            Error::NoLayers => f.write_str("the network has no layers"),
            Error::TooManyLayers { count } => {
                write!(
                    f,
                    "the network has {count} layers, a weight file holds at most {}",
                    crate::MAX_LAYERS
                )
            }
            Error::EmptyLayer { layer } => write!(f, "layer {layer} has zero inputs or outputs"),
            Error::LayersDisconnected {
                layer,
                outputs,
                next_inputs,
            } => write!(
                f,
                "layer {layer} has {outputs} outputs but layer {} takes {next_inputs} inputs",
                layer + 1
            ),
            Error::NonFinite { location, value } => write!(f, "{location} is {value}"),
            Error::ZeroScale { feature } => write!(f, "normalization scale of feature {feature} is zero"),
            Error::TrailingBytes { len, file_len } => {
                write!(
                    f,
                    "{} unexpected bytes after the end of the file (byte {file_len})",
                    len - file_len
                )
            }
            Error::ShapeMismatch {
                layer,
                file,
                expected,
            } => {
                write!(
                    f,
                    "layer {layer}: the file has {}, this build expects {}",
                    LayerText(*file),
                    LayerText(*expected)
                )
            }
            Error::Misaligned { address } => write!(
                f,
                "parameters at address {address:#x} are not 4-byte aligned: place the file at an aligned address"
            ),
            Error::NameTooLong { len } => {
                write!(
                    f,
                    "model name is {len} bytes long, at most {} fit",
                    super::MAX_NAME_LEN
                )
            }
            Error::ColumnNameTooLong { len } => write!(
                f,
                "a column or class name is {len} bytes long, at most {} fit",
                super::MAX_COLUMN_NAME_LEN
            ),
            Error::MetadataShape {
                what,
                expected,
                found,
            } => {
                write!(f, "{what} has {found} values, the network calls for {expected}")
            }
            Error::TooManyTestVectors { count } => write!(f, "{count} test vectors, at most 65535 fit"),
            Error::Flash(kind) => write!(f, "flash error: {kind}"),
            Error::NoValidModel => f.write_str("no valid model in either flash slot"),
            Error::TooLargeForSlot { len, slot } => {
                write!(f, "the weight file has {len} bytes, a flash slot holds {slot}")
            }
            Error::OutOfRange {
                location,
                value,
                min,
                max,
            } => write!(f, "{location} is {value}, expected {min} to {max}"),
            Error::NotPositive { location } => write!(f, "{location} is zero or negative"),
            Error::OverCapacity { widest, capacity } => write!(
                f,
                "the model's widest layer has {widest} units, this build's run-time path holds {capacity}"
            ),
            Error::WrongModelKind { found, expected } => write!(
                f,
                "the file holds an {found} model, this network runs {expected} models"
            ),
            Error::UnsupportedInt8Activation { layer, activation } => write!(
                f,
                "layer {layer} is a hidden {activation} layer: int8 hidden layers are linear or relu, or tanh or sigmoid \
                 from format version 4"
            ),
            Error::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "output buffer holds {available} bytes, the file needs {needed}"
                )
            }
        }
    }
}

impl core::error::Error for Error {}
