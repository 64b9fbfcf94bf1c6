//! The body of an int8 file (model kind 1): its layout, its checks, and its layers seen as
//! slices (run-time shapes) for the host and for borrowing typed networks on a board.
//!
//! ```text
//! input     f32 scale, i32 zero point             (the first layer's input tensor)
//! per layer i8 weights[out][in], zeros to a multiple of 4 bytes
//!           i32 bias[out]                         (input zero point folded in)
//!   hidden: i32 multiplier[out], u32 shift (one per layer),
//!     tanh or sigmoid (version 4): f32 pre-activation scale, i32 its zero point,
//!                                  i8 table[256] (the activation, input q + 128)
//!           f32 output scale, i32 output zero point
//!   last:   f32 dequantization scale[out]         (s_in · s_w[o])
//! ```
//!
//! A file of TensorFlow Lite Micro's arithmetic (kind 2, version 5: [`Int8Rules`]) lays its
//! layers out as TFLite holds them instead (its normalization section, if any, holds one
//! 256-entry int8 table per input, applied to the quantized input):
//!
//! ```text
//! input     f32 scale, i32 zero point
//! rounding  u32: 0 double (TFLite Micro's default build), 1 single (TFLITE_SINGLE_ROUNDING)
//! per layer i8 weights[out][in], zeros to a multiple of 4 bytes
//!           i32 bias[out]                         (input zero point folded in)
//!           i32 multiplier[out], i32 shift[out]   (TFLite's QuantizeMultiplier per output)
//!           f32 scale, i32 zero point             (the sums' int8 tensor)
//!   tanh or sigmoid: f32 scale, i32 zero point (its output tensor), i8 table[256]
//!   softmax (last layer only): f32 scale, i32 zero point (its output tensor),
//!                    i32 multiplier, i32 left shift, i32 smallest difference
//! ```
//! The last layer's final tensor is dequantized: `y = (q - zero_point) · scale` in f32.

use super::{Error, Location, ModelKind, NonFiniteValue};
use crate::activation::Activation;
use crate::quant::{self, MAX_SHIFT};
use crate::view::{LayerSpec, MAX_LAYERS};

/// How an int8 tensor stands for real numbers: `real = scale · (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// Real value of one step (positive).
    pub scale: f32,
    /// The int8 value of real 0 (-128 to 127).
    pub zero_point: i32,
}

impl QuantParams {
    /// How inputs of this tensor are quantized (see [`quant::InputQuantizer`]).
    pub fn input_quantizer(&self) -> quant::InputQuantizer {
        quant::InputQuantizer::new(self.scale, self.zero_point)
    }

    /// The real value of `q`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// A hidden tanh or sigmoid layer's activation as TensorFlow Lite applies it in int8: the
/// sums requantized to the pre-activation tensor, then looked up in a table of the
/// activation for each of its 256 values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lookup<'a> {
    /// The pre-activation tensor the sums are requantized to (its zero point is the
    /// requantization's).
    pub input: QuantParams,
    /// The activation's output for pre-activation value `q` at `table[q + 128]`.
    pub table: &'a [i8; 256],
}

impl Lookup<'_> {
    /// Applies the table to the pre-activation values `y` in place.
    #[inline]
    pub fn apply(&self, y: &mut [i8]) {
        quant::look_up(self.table, y);
    }
}

/// Which integer arithmetic an int8 file follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Int8Rules {
    /// nn-core's own (kind byte 1, format versions 2 to 4): inputs quantized by
    /// [`quant::InputQuantizer`], one shift per layer with the rounding of
    /// [`quant::requantize`], the last layer dequantized before its activation in f32.
    #[default]
    NnCore,
    /// TensorFlow Lite Micro's reference kernels (kind byte 2, format version 5; see
    /// [`crate::tflm`]): inputs quantized as TFLite's `QUANTIZE`, a multiplier and shift per
    /// output with `MultiplyByQuantizedMultiplier`, every tensor int8 (tanh and sigmoid by
    /// tables of TFLite Micro's kernels, softmax by its fixed-point kernel), the last
    /// tensor dequantized.
    TfliteMicro,
}

/// A layer's activation in TensorFlow Lite Micro's arithmetic, after its sums are
/// requantized to their int8 tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TflmActivation<'a> {
    /// Linear or ReLU: the sums' tensor is the output (ReLU clamps at its zero point).
    Clamp,
    /// Tanh or sigmoid: a table of TFLite Micro's int8 kernel into the output tensor.
    Table {
        /// The output tensor.
        output: QuantParams,
        /// The output for the sums' value `q` at `table[q + 128]`.
        table: &'a [i8; 256],
    },
    /// Softmax (the last layer only): TFLite Micro's int8 kernel.
    Softmax {
        /// The output tensor (TFLite's is scale 1/256, zero point -128).
        output: QuantParams,
        /// Its fixed-point parameters.
        params: crate::tflm::SoftmaxParams,
    },
}

/// A layer in TensorFlow Lite Micro's arithmetic: `FULLY_CONNECTED` with one multiplier
/// and shift per output, then its activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TflmStage<'a> {
    /// Per output: the multiplier of `MultiplyByQuantizedMultiplier`.
    pub multiplier: &'a [i32],
    /// Per output: its shift (-31 to 30; positive shifts left).
    pub shift: &'a [i32],
    /// The int8 tensor the sums are requantized to.
    pub sums: QuantParams,
    /// What follows.
    pub activation: TflmActivation<'a>,
}

impl TflmStage<'_> {
    /// The layer's output tensor (the next layer's input, or what the last one dequantizes).
    pub fn output(&self) -> QuantParams {
        match self.activation {
            TflmActivation::Clamp => self.sums,
            TflmActivation::Table { output, .. } | TflmActivation::Softmax { output, .. } => output,
        }
    }
}

/// What follows a layer's integer sums.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Int8Stage<'a> {
    /// A hidden layer: requantized to int8 ([`quant::dense_requantized`]), through its
    /// activation's table if it has one (tanh, sigmoid).
    Requantize {
        /// Per output: the requantization multiplier.
        multiplier: &'a [i32],
        /// The layer's requantization shift (one for all outputs: the multipliers carry the
        /// per-channel scales; the shift is a loop constant on the board).
        shift: u8,
        /// The output tensor.
        output: QuantParams,
        /// A tanh or sigmoid layer's table (format version 4).
        lookup: Option<Lookup<'a>>,
    },
    /// The output layer: dequantized to f32 ([`quant::dense_dequantized`]), then its
    /// activation in f32.
    Dequantize {
        /// Per output: `s_in · s_w[o]`.
        scale: &'a [f32],
    },
    /// Any layer of a file of TensorFlow Lite Micro's arithmetic ([`Int8Rules::TfliteMicro`]).
    Tflm(TflmStage<'a>),
}

/// One int8 layer as slices, as a file holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Int8LayerParams<'a> {
    /// Shape and activation.
    pub spec: LayerSpec,
    /// Weights, row-major `[outputs][inputs]`.
    pub weights: &'a [i8],
    /// Per output: the bias, with the input zero point folded in.
    pub bias: &'a [i32],
    /// Requantization or dequantization.
    pub stage: Int8Stage<'a>,
}

/// An int8 network as slices: its input tensor and its layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Model<'a> {
    /// The arithmetic it follows.
    pub rules: Int8Rules,
    /// TensorFlow Lite Micro's arithmetic only: how it requantizes.
    pub rounding: crate::tflm::Rounding,
    /// The first layer's input tensor.
    pub input: QuantParams,
    /// TensorFlow Lite Micro's arithmetic only: one 256-entry table per input applied to
    /// the quantized input (`q' = tables[i · 256 + q + 128]`), the int8 form of operations
    /// a converted model does before its first layer (as `SUB` and `MUL` by constants).
    pub input_tables: Option<&'a [i8]>,
    /// The layers, first to last: every one but the last requantizes.
    pub layers: heapless::Vec<Int8LayerParams<'a>, MAX_LAYERS>,
}

impl Int8Model<'_> {
    /// Bytes of the parameter section an int8 file holds for this model (its layout above).
    pub fn parameter_bytes(&self) -> usize {
        let specs: heapless::Vec<LayerSpec, MAX_LAYERS> = self.layers.iter().map(|l| l.spec).collect();
        // An existing model's parameters fit in memory.
        usize::try_from(super::params_bytes(
            ModelKind::Int8,
            self.rules,
            &specs,
            super::FORMAT_VERSION,
        ))
        .unwrap_or(usize::MAX)
    }

    /// The widest input or output of any layer: the scratch length [`Int8Model::predict`] needs.
    pub fn widest_layer(&self) -> usize {
        self.layers
            .iter()
            .map(|l| usize::from(l.spec.inputs.max(l.spec.outputs)))
            .max()
            .unwrap_or(0)
    }
}

/// The smallest int8 output of a hidden layer with `activation`: ReLU clamps at the zero
/// point (real 0), linear at -128.
#[inline(always)]
pub fn hidden_min(activation: Activation, zero_point: i32) -> i8 {
    if activation == Activation::Relu {
        zero_point.clamp(-128, 127) as i8
    } else {
        -128
    }
}

/// Whether an int8 file may have `activation` on a hidden layer: linear and ReLU as a
/// clamp, tanh and sigmoid by a table (format version 4).
pub fn hidden_activation_supported(activation: Activation) -> bool {
    matches!(
        activation,
        Activation::Identity | Activation::Relu | Activation::Tanh | Activation::Sigmoid
    )
}

/// Whether an int8 hidden layer with `activation` applies it by a table ([`Lookup`]).
pub fn hidden_uses_table(activation: Activation) -> bool {
    matches!(activation, Activation::Tanh | Activation::Sigmoid)
}

/// Bytes a hidden layer's table adds: the pre-activation tensor and 256 values.
const TABLE_BYTES: u64 = 8 + 256;
/// Bytes a tanh or sigmoid layer of TFLite Micro's arithmetic adds: its output tensor and table.
const TFLM_TABLE_BYTES: u64 = 8 + 256;
/// Bytes a softmax layer of TFLite Micro's arithmetic adds: its output tensor and three parameters.
const TFLM_SOFTMAX_BYTES: u64 = 8 + 12;

const fn padded(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// Bytes of the int8 parameter section before its layers: the input tensor, and for
/// TensorFlow Lite Micro's arithmetic the rounding word.
pub(crate) fn input_section_bytes(rules: Int8Rules) -> u64 {
    match rules {
        Int8Rules::NnCore => 8,
        Int8Rules::TfliteMicro => 12,
    }
}

/// Whether a hidden layer of `spec` in a file of `version` has a table (tanh and sigmoid
/// from version 4; in an older file such a layer is refused when checked).
fn has_table(spec: &LayerSpec, version: u16) -> bool {
    version >= super::LOOKUP_FORMAT_VERSION && hidden_uses_table(spec.activation)
}

/// Bytes one layer takes in the int8 parameter section of a file of `version` (the last
/// layer has dequantization scales where the others have requantizers and an output
/// tensor, and tanh and sigmoid layers their tables).
pub(crate) fn layer_bytes(spec: &LayerSpec, last: bool, version: u16, rules: Int8Rules) -> u64 {
    let out = u64::from(spec.outputs);
    if rules == Int8Rules::TfliteMicro {
        let activation = match spec.activation {
            Activation::Tanh | Activation::Sigmoid => TFLM_TABLE_BYTES,
            Activation::Softmax => TFLM_SOFTMAX_BYTES,
            _ => 0,
        };
        return (spec.weight_count() as u64).next_multiple_of(4) + 12 * out + 8 + activation;
    }
    let table = if has_table(spec, version) { TABLE_BYTES } else { 0 };
    let tail = if last { 4 * out } else { 4 * out + 12 + table };
    (spec.weight_count() as u64).next_multiple_of(4) + 4 * out + tail
}

/// A cursor over the int8 parameter section, handing out byte slices in layout order.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    /// `n` one-byte values and the padding after them.
    fn bytes_padded(&mut self, n: usize) -> Option<&'a [u8]> {
        self.take(padded(n))?.get(..n)
    }

    fn words(&mut self, n: usize) -> Option<&'a [u8]> {
        self.take(n.checked_mul(4)?)
    }

    fn word(&mut self) -> Option<[u8; 4]> {
        self.take(4)?.try_into().ok()
    }
}

/// One layer's sections as raw bytes (any alignment).
pub(crate) struct RawLayer<'a> {
    spec: LayerSpec,
    weights: &'a [u8],
    bias: &'a [u8],
    stage: RawStage<'a>,
}

enum RawStage<'a> {
    Requantize {
        multiplier: &'a [u8],
        shift: [u8; 4],
        scale: [u8; 4],
        zero_point: [u8; 4],
        /// Pre-activation scale, zero point and table (tanh, sigmoid).
        table: Option<([u8; 4], [u8; 4], &'a [u8])>,
    },
    Dequantize {
        scale: &'a [u8],
    },
    Tflm {
        multiplier: &'a [u8],
        shift: &'a [u8],
        sums: [[u8; 4]; 2],
        /// Output tensor and table (tanh, sigmoid).
        table: Option<([[u8; 4]; 2], &'a [u8])>,
        /// Output tensor, multiplier, left shift, smallest difference (softmax).
        softmax: Option<RawSoftmax>,
    },
}

/// A softmax's output tensor and parameters as raw words.
type RawSoftmax = ([[u8; 4]; 2], [[u8; 4]; 3]);

/// The int8 parameter section: its input tensor, and its layers read one at a time.
///
/// Layer by layer rather than all at once: a board checks and borrows them in place,
/// where collecting up to [`MAX_LAYERS`] of them and moving the collection cost 1 KB of
/// flash in `memcpy` (measured).
pub(crate) struct RawModel<'a> {
    /// The file's format version (whether tanh and sigmoid layers have tables).
    version: u16,
    /// The arithmetic (the layers' layout).
    rules: Int8Rules,
    input_scale: [u8; 4],
    input_zero_point: [u8; 4],
    /// TensorFlow Lite Micro's arithmetic: the rounding word (zeros otherwise).
    rounding: [u8; 4],
    /// The layers' sections, after the input tensor.
    layers: &'a [u8],
}

impl<'a> RawModel<'a> {
    /// The section `params` (the int8 section for a file's layers) of a file of `version`,
    /// or `None` if it is too short for the input tensor.
    pub(crate) fn split(params: &'a [u8], version: u16, rules: Int8Rules) -> Option<RawModel<'a>> {
        let mut cursor = Cursor { bytes: params };
        Some(RawModel {
            version,
            rules,
            input_scale: cursor.word()?,
            input_zero_point: cursor.word()?,
            rounding: match rules {
                Int8Rules::NnCore => [0; 4],
                Int8Rules::TfliteMicro => cursor.word()?,
            },
            layers: cursor.bytes,
        })
    }

    /// Each of `specs`' layers in order: its parts, or `None` (and nothing after it) if the
    /// section ends before them.
    fn layers<'s>(&self, specs: &'s [LayerSpec]) -> impl Iterator<Item = Option<RawLayer<'a>>> + 's
    where
        'a: 's,
    {
        let mut cursor = Cursor { bytes: self.layers };
        let last = specs.len().saturating_sub(1);
        let (version, rules) = (self.version, self.rules);
        specs
            .iter()
            .enumerate()
            .map(move |(index, &spec)| RawLayer::read(&mut cursor, spec, index == last, version, rules))
    }

    /// Checks every quantization value: scales finite and positive, zero points in int8,
    /// multipliers positive, shifts at most [`MAX_SHIFT`], hidden activations that int8 has
    /// in a file of its version (tables from version 4). [`Error::Truncated`] (with `len` the
    /// section's) if the section is short.
    pub(crate) fn check(&self, specs: &[LayerSpec]) -> Result<(), Error> {
        check_input(self.input())?;
        check_range(
            i64::from(u32::from_le_bytes(self.rounding)),
            0,
            1,
            Location::Rounding,
        )?;
        for (layer, raw) in self.layers(specs).enumerate() {
            let raw = raw.ok_or(self.truncated())?;
            match &raw.stage {
                RawStage::Requantize {
                    multiplier,
                    shift,
                    scale,
                    zero_point,
                    table,
                } => {
                    if hidden_uses_table(raw.spec.activation) && table.is_none() {
                        // A tanh or sigmoid layer in a file older than version 4.
                        return Err(Error::UnsupportedInt8Activation {
                            layer,
                            activation: raw.spec.activation,
                        });
                    }
                    check_hidden(
                        layer,
                        raw.spec.activation,
                        words_i32(multiplier),
                        u32::from_le_bytes(*shift),
                        quant_params(*scale, *zero_point),
                    )?;
                    if let Some((pre_scale, pre_zero_point, _)) = table {
                        check_pre_activation(layer, quant_params(*pre_scale, *pre_zero_point))?;
                    }
                }
                RawStage::Dequantize { scale } => check_scales(layer, super::F32Bytes(scale).iter())?,
                RawStage::Tflm {
                    multiplier,
                    shift,
                    sums,
                    table,
                    softmax,
                } => {
                    let last = layer + 1 == specs.len();
                    check_tflm_activation(layer, raw.spec.activation, last)?;
                    check_tflm_requantizers(layer, words_i32(multiplier), words_i32(shift))?;
                    check_tensor(
                        quant_params(sums[0], sums[1]),
                        Location::PreActivationScale { layer },
                        Location::PreActivationZeroPoint { layer },
                    )?;
                    let output = table.as_ref().map(|t| t.0).or(softmax.as_ref().map(|s| s.0));
                    if let Some([scale, zero_point]) = output {
                        check_tensor(
                            quant_params(scale, zero_point),
                            Location::OutputScale { layer },
                            Location::OutputZeroPoint { layer },
                        )?;
                    }
                    if let Some((_, params)) = softmax {
                        check_softmax(layer, softmax_params(*params))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The input tensor.
    fn input(&self) -> QuantParams {
        quant_params(self.input_scale, self.input_zero_point)
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            len: self.layers.len(),
            needed: None,
        }
    }

    /// The model as typed slices, borrowed in place.
    ///
    /// # Errors
    /// [`Error::Misaligned`] if the section does not start at a 4-byte aligned address;
    /// [`Error::Truncated`] if it is short (never for a checked file).
    pub(crate) fn borrow(&self, specs: &[LayerSpec]) -> Result<Int8Model<'a>, Error> {
        let mut layers = heapless::Vec::new();
        for raw in self.layers(specs) {
            let raw = raw.ok_or(self.truncated())?;
            let stage = match raw.stage {
                RawStage::Requantize {
                    multiplier,
                    shift,
                    scale,
                    zero_point,
                    table,
                } => Int8Stage::Requantize {
                    multiplier: aligned(multiplier)?,
                    // Checked to be at most MAX_SHIFT.
                    shift: u32::from_le_bytes(shift) as u8,
                    output: quant_params(scale, zero_point),
                    lookup: match table {
                        Some((pre_scale, pre_zero_point, table)) => Some(Lookup {
                            input: quant_params(pre_scale, pre_zero_point),
                            table: bytemuck::cast_slice::<u8, i8>(table)
                                .try_into()
                                .map_err(|_| self.truncated())?,
                        }),
                        None => None,
                    },
                },
                RawStage::Dequantize { scale } => Int8Stage::Dequantize {
                    scale: aligned(scale)?,
                },
                RawStage::Tflm {
                    multiplier,
                    shift,
                    sums,
                    table,
                    softmax,
                } => Int8Stage::Tflm(TflmStage {
                    multiplier: aligned(multiplier)?,
                    shift: aligned(shift)?,
                    sums: quant_params(sums[0], sums[1]),
                    activation: match (table, softmax) {
                        (Some(([scale, zero_point], table)), _) => TflmActivation::Table {
                            output: quant_params(scale, zero_point),
                            table: bytemuck::cast_slice::<u8, i8>(table)
                                .try_into()
                                .map_err(|_| self.truncated())?,
                        },
                        (None, Some(([scale, zero_point], params))) => TflmActivation::Softmax {
                            output: quant_params(scale, zero_point),
                            params: softmax_params(params),
                        },
                        (None, None) => TflmActivation::Clamp,
                    },
                }),
            };
            let layer = Int8LayerParams {
                spec: raw.spec,
                weights: bytemuck::cast_slice(raw.weights),
                bias: aligned(raw.bias)?,
                stage,
            };
            // A file holds at most MAX_LAYERS layers.
            layers.push(layer).map_err(|_| Error::TooManyLayers {
                count: MAX_LAYERS + 1,
            })?;
        }
        Ok(Int8Model {
            rules: self.rules,
            rounding: match u32::from_le_bytes(self.rounding) {
                1 => crate::tflm::Rounding::Single,
                _ => crate::tflm::Rounding::Double,
            },
            input: self.input(),
            input_tables: None,
            layers,
        })
    }
}

impl<'a> RawLayer<'a> {
    /// The parts of a layer of shape `spec` at the cursor (the last layer has dequantization
    /// scales, the others requantizers and an output tensor), or `None` if the bytes end.
    fn read(
        cursor: &mut Cursor<'a>,
        spec: LayerSpec,
        last: bool,
        version: u16,
        rules: Int8Rules,
    ) -> Option<RawLayer<'a>> {
        let out = usize::from(spec.outputs);
        let weights = cursor.bytes_padded(spec.weight_count())?;
        let bias = cursor.words(out)?;
        let stage = if rules == Int8Rules::TfliteMicro {
            let multiplier = cursor.words(out)?;
            let shift = cursor.words(out)?;
            let sums = [cursor.word()?, cursor.word()?];
            let (mut table, mut softmax) = (None, None);
            match spec.activation {
                Activation::Tanh | Activation::Sigmoid => {
                    table = Some(([cursor.word()?, cursor.word()?], cursor.take(256)?));
                }
                Activation::Softmax => {
                    let output = [cursor.word()?, cursor.word()?];
                    softmax = Some((output, [cursor.word()?, cursor.word()?, cursor.word()?]));
                }
                _ => {}
            }
            RawStage::Tflm {
                multiplier,
                shift,
                sums,
                table,
                softmax,
            }
        } else if last {
            RawStage::Dequantize {
                scale: cursor.words(out)?,
            }
        } else {
            let multiplier = cursor.words(out)?;
            let shift = cursor.word()?;
            let table = if has_table(&spec, version) {
                Some((cursor.word()?, cursor.word()?, cursor.take(256)?))
            } else {
                None
            };
            RawStage::Requantize {
                multiplier,
                shift,
                scale: cursor.word()?,
                zero_point: cursor.word()?,
                table,
            }
        };
        Some(RawLayer {
            spec,
            weights,
            bias,
            stage,
        })
    }
}

fn aligned<T: bytemuck::Pod>(bytes: &[u8]) -> Result<&[T], Error> {
    bytemuck::try_cast_slice(bytes).map_err(|_| Error::Misaligned {
        address: bytes.as_ptr() as usize,
    })
}

/// Little-endian `i32` words (whole words as arrays: no bounds check in a board's loader).
fn words_i32(bytes: &[u8]) -> impl Iterator<Item = i32> + '_ {
    bytes.as_chunks::<4>().0.iter().map(|b| i32::from_le_bytes(*b))
}

/// A tensor's scale and zero point as a file stores them.
fn quant_params(scale: [u8; 4], zero_point: [u8; 4]) -> QuantParams {
    QuantParams {
        scale: f32::from_le_bytes(scale),
        zero_point: i32::from_le_bytes(zero_point),
    }
}

/// The first layer's input tensor: scale finite and positive, zero point an int8.
pub(crate) fn check_input(input: QuantParams) -> Result<(), Error> {
    check_tensor(input, Location::InputScale, Location::InputZeroPoint)
}

/// A hidden layer's quantization: an activation int8 applies as a clamp, its requantizers,
/// its output tensor.
pub(crate) fn check_hidden(
    layer: usize,
    activation: Activation,
    multipliers: impl IntoIterator<Item = i32>,
    shift: u32,
    output: QuantParams,
) -> Result<(), Error> {
    if !hidden_activation_supported(activation) {
        return Err(Error::UnsupportedInt8Activation { layer, activation });
    }
    check_requantizers(layer, multipliers, shift)?;
    check_tensor(
        output,
        Location::OutputScale { layer },
        Location::OutputZeroPoint { layer },
    )
}

/// A tanh or sigmoid layer's pre-activation tensor: scale finite and positive, zero point
/// an int8.
pub(crate) fn check_pre_activation(layer: usize, tensor: QuantParams) -> Result<(), Error> {
    check_tensor(
        tensor,
        Location::PreActivationScale { layer },
        Location::PreActivationZeroPoint { layer },
    )
}

/// Activations TensorFlow Lite Micro's arithmetic has here: linear, ReLU, tanh and sigmoid
/// anywhere, softmax on the last layer.
pub(crate) fn check_tflm_activation(layer: usize, activation: Activation, last: bool) -> Result<(), Error> {
    match activation {
        Activation::Identity | Activation::Relu | Activation::Tanh | Activation::Sigmoid => Ok(()),
        Activation::Softmax if last => Ok(()),
        _ => Err(Error::UnsupportedInt8Activation { layer, activation }),
    }
}

/// TFLite's requantizers: multipliers 0 to 2^31 - 1 (0 where TFLite flushes a tiny one),
/// shifts -31 to 30.
pub(crate) fn check_tflm_requantizers(
    layer: usize,
    multipliers: impl IntoIterator<Item = i32>,
    shifts: impl IntoIterator<Item = i32>,
) -> Result<(), Error> {
    check_multipliers(layer, multipliers, 0)?;
    for (channel, s) in shifts.into_iter().enumerate() {
        check_range(i64::from(s), -31, 30, Location::ChannelShift { layer, channel })?;
    }
    Ok(())
}

/// The softmax parameters TFLite's `Prepare` can give: multiplier 0 to 2^31 - 1, left shift
/// 0 to 30, smallest difference -2^31 + 1 to 0.
pub(crate) fn check_softmax(layer: usize, params: crate::tflm::SoftmaxParams) -> Result<(), Error> {
    let at = |parameter| Location::Softmax { layer, parameter };
    check_range(
        i64::from(params.multiplier),
        0,
        i64::from(i32::MAX),
        at("multiplier"),
    )?;
    check_range(i64::from(params.left_shift), 0, 30, at("left shift"))?;
    check_range(
        i64::from(params.diff_min),
        -i64::from(i32::MAX),
        0,
        at("smallest difference"),
    )
}

fn softmax_params(words: [[u8; 4]; 3]) -> crate::tflm::SoftmaxParams {
    crate::tflm::SoftmaxParams {
        multiplier: i32::from_le_bytes(words[0]),
        left_shift: i32::from_le_bytes(words[1]),
        diff_min: i32::from_le_bytes(words[2]),
    }
}

/// A tensor's scale must be finite and positive, its zero point an int8.
pub(crate) fn check_tensor(
    tensor: QuantParams,
    scale_at: Location,
    zero_point_at: Location,
) -> Result<(), Error> {
    check_positive(tensor.scale, scale_at)?;
    check_range(i64::from(tensor.zero_point), -128, 127, zero_point_at)
}

/// Every multiplier `min` to 2^31 - 1.
fn check_multipliers(
    layer: usize,
    multipliers: impl IntoIterator<Item = i32>,
    min: i64,
) -> Result<(), Error> {
    for (channel, m) in multipliers.into_iter().enumerate() {
        check_range(
            i64::from(m),
            min,
            i64::from(i32::MAX),
            Location::Multiplier { layer, channel },
        )?;
    }
    Ok(())
}

/// Every multiplier positive, the shift at most [`MAX_SHIFT`].
fn check_requantizers(
    layer: usize,
    multipliers: impl IntoIterator<Item = i32>,
    shift: u32,
) -> Result<(), Error> {
    check_multipliers(layer, multipliers, 1)?;
    check_range(
        i64::from(shift),
        0,
        i64::from(MAX_SHIFT),
        Location::Shift { layer },
    )?;
    Ok(())
}

/// Every dequantization scale finite and positive.
pub(crate) fn check_scales(layer: usize, scales: impl IntoIterator<Item = f32>) -> Result<(), Error> {
    for (channel, s) in scales.into_iter().enumerate() {
        check_positive(s, Location::DequantizationScale { layer, channel })?;
    }
    Ok(())
}

fn check_positive(value: f32, location: Location) -> Result<(), Error> {
    if let Some(value) = NonFiniteValue::of(value) {
        return Err(Error::NonFinite { location, value });
    }
    if value <= 0.0 {
        return Err(Error::NotPositive { location });
    }
    Ok(())
}

fn check_range(value: i64, min: i64, max: i64, location: Location) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            location,
            value,
            min,
            max,
        })
    }
}
