//! The run-time-shaped path: any weight file, f32 or int8, run with the shapes its header
//! gives, its parameters borrowed from the file's bytes (in flash on a board), and its
//! activations in a [`Scratch`] whose capacity is fixed when the program is built.
//!
//! Nothing is sized by trial: a file says what it needs ([`WeightFile::widest_layer`]), a
//! build says what it holds ([`Scratch::CAPACITY`]), and [`RunTime::new`] refuses a file that
//! does not fit with [`Error::OverCapacity`], naming both. The sums are the typed networks'
//! own, in the same order, with run-time lengths ([`crate::dense::dense_layer_run_time`]:
//! on the Cortex-M4F one assembly loop over a whole layer; [`crate::quant`] for int8), so
//! both paths give the same bits.
//!
//! ```
//! use nn_core::{encode, network, Dense, Identity, Init, Layer, Metadata, Model, Relu, Trainable, WeightFile};
//! use nn_core::runtime::{RunTime, Scratch};
//! use rand_core::SeedableRng;
//!
//! type Net = network![Dense<3, 5, Relu>, Dense<5, 2, Identity>];
//! let net = Net::init(&mut rand_pcg::Pcg32::seed_from_u64(1), Init::GlorotUniform);
//! let mut buf = [0u8; 512];
//! let len = encode(&net, &Metadata::default(), &mut buf)?;
//! let file = WeightFile::parse(&buf[..len])?;
//!
//! let mut scratch = Scratch::<8>::new();
//! let mut model = RunTime::new(&file, &mut scratch)?;
//! let mut y = [0.0; 2];
//! assert!(model.predict(&[0.1, 0.2, 0.3], &mut y));
//! assert_eq!(y, net.predict(&[0.1, 0.2, 0.3]));
//! # Ok::<(), nn_core::Error>(())
//! ```

use crate::format::{Error, Int8Model, Int8Rules, Int8Stage, ModelKind, TflmActivation, WeightFile};
use crate::model::{Model, Path};
use crate::quant;
use crate::view::{LayerParams, LayerView, MAX_LAYERS, forward_layers};

/// The activations of the run-time path: two buffers of `WIDTH` values each, one layer's
/// input and its output. `WIDTH` is the widest layer a build runs on this path; a network
/// has at most [`MAX_LAYERS`] layers whatever the width.
#[derive(Clone, Debug)]
pub struct Scratch<const WIDTH: usize> {
    buffers: [[f32; WIDTH]; 2],
}

impl<const WIDTH: usize> Scratch<WIDTH> {
    /// Units per layer (inputs or outputs) this scratch holds.
    pub const CAPACITY: usize = WIDTH;
    /// Bytes of RAM it takes.
    pub const BYTES: usize = 2 * WIDTH * size_of::<f32>();

    /// Zeroed scratch.
    pub const fn new() -> Self {
        Scratch {
            buffers: [[0.0; WIDTH]; 2],
        }
    }

    /// [`Error::OverCapacity`] unless a model whose widest layer has `widest` units fits.
    pub fn check(widest: usize) -> Result<(), Error> {
        if widest <= WIDTH {
            Ok(())
        } else {
            Err(Error::OverCapacity {
                widest,
                capacity: WIDTH,
            })
        }
    }

    /// The two buffers as f32.
    fn f32_pair(&mut self) -> (&mut [f32], &mut [f32]) {
        let [a, b] = &mut self.buffers;
        (a, b)
    }

    /// The two buffers as int8 (each holds `4 · WIDTH` values; int8 layers use `WIDTH`).
    #[cfg(feature = "int8")]
    fn i8_pair(&mut self) -> (&mut [i8], &mut [i8]) {
        let [a, b] = &mut self.buffers;
        (bytemuck::cast_slice_mut(a), bytemuck::cast_slice_mut(b))
    }
}

impl<const WIDTH: usize> Default for Scratch<WIDTH> {
    fn default() -> Self {
        Self::new()
    }
}

/// An f32 network as slices borrowed from a weight file: its layers with run-time shapes.
#[derive(Clone, Debug)]
pub struct F32Model<'a> {
    /// The layers, first to last (a chain: checked when the file was parsed).
    pub layers: heapless::Vec<LayerParams<'a>, MAX_LAYERS>,
}

impl LayerView for F32Model<'_> {
    fn layer_count(&self) -> usize {
        self.layers.len()
    }

    fn layer(&self, index: usize) -> Option<LayerParams<'_>> {
        self.layers.get(index).copied()
    }
}

/// The run-time-shaped int8 forward (the file's layout is [`crate::format`]'s; running it
/// is this module's).
impl Int8Model<'_> {
    /// Runs the network on a normalized `input`: quantize, integer layers, dequantize, the
    /// output activation in f32. The run-time-shaped twin of the typed
    /// [`Int8Network::predict`](crate::Int8Network::predict): same kernels, same bits.
    ///
    /// `scratch_a` and `scratch_b` must each hold the widest layer's inputs and outputs.
    /// Returns `None` if a width or buffer does not fit.
    pub fn predict(
        &self,
        input: &[f32],
        scratch_a: &mut [i8],
        scratch_b: &mut [i8],
        output: &mut [f32],
    ) -> Option<()> {
        if input.len() != usize::from(self.layers.first()?.spec.inputs) {
            return None;
        }
        if self.rules == Int8Rules::TfliteMicro {
            return self.predict_tflm(input, scratch_a, scratch_b, output);
        }
        let (mut current, mut next) = (scratch_a, scratch_b);
        let quantizer = self.input.input_quantizer();
        quantizer.quantize_slice(input, current.get_mut(..input.len())?);
        for layer in &self.layers {
            let (inputs, outputs) = (usize::from(layer.spec.inputs), usize::from(layer.spec.outputs));
            let x = current.get(..inputs)?;
            match layer.stage {
                Int8Stage::Requantize {
                    multiplier,
                    shift,
                    output,
                    lookup,
                } => {
                    let y = next.get_mut(..outputs)?;
                    quant::hidden_layer(
                        layer.weights,
                        layer.bias,
                        multiplier,
                        shift,
                        layer.spec.activation,
                        output,
                        lookup.as_ref(),
                        x,
                        y,
                    );
                    core::mem::swap(&mut current, &mut next);
                }
                Int8Stage::Dequantize { scale } => {
                    let y = output.get_mut(..outputs)?;
                    quant::dense_dequantized(layer.weights, layer.bias, scale, x, y);
                    quant::activate_output(layer.spec.activation, y);
                    return Some(());
                }
                Int8Stage::Tflm(_) => return None,
            }
        }
        None
    }

    /// [`Int8Model::predict`] in TensorFlow Lite Micro's arithmetic: each input quantized as
    /// TFLite's `QUANTIZE` ([`crate::tflm::quantize`]) and through its input table, every
    /// layer's int8 kernels ([`quant::tflm_dense`], [`crate::tflm::softmax`]), the last
    /// tensor dequantized (`(q - zero_point) · scale`).
    fn predict_tflm(
        &self,
        input: &[f32],
        scratch_a: &mut [i8],
        scratch_b: &mut [i8],
        output: &mut [f32],
    ) -> Option<()> {
        let (mut current, mut next) = (scratch_a, scratch_b);
        let q = current.get_mut(..input.len())?;
        for (q, &x) in q.iter_mut().zip(input) {
            *q = crate::tflm::quantize(x, self.input.scale, self.input.zero_point);
        }
        if let Some(tables) = self.input_tables {
            for (table, q) in tables.as_chunks::<256>().0.iter().zip(q.iter_mut()) {
                *q = table[(i32::from(*q) + 128) as usize & 0xFF];
            }
        }
        let mut last_output = None;
        for layer in &self.layers {
            let Int8Stage::Tflm(stage) = layer.stage else {
                return None;
            };
            let (inputs, outputs) = (usize::from(layer.spec.inputs), usize::from(layer.spec.outputs));
            let x = current.get(..inputs)?;
            let y = next.get_mut(..outputs)?;
            quant::tflm_dense(
                layer.weights,
                layer.bias,
                &stage,
                layer.spec.activation,
                self.rounding,
                x,
                y,
            );
            match stage.activation {
                // From the sums into the buffer the layer's input is done with.
                TflmActivation::Softmax { params, .. } => {
                    crate::tflm::softmax(y, &params, self.rounding, current.get_mut(..outputs)?);
                }
                _ => core::mem::swap(&mut current, &mut next),
            }
            last_output = Some((stage.output(), outputs));
        }
        let (tensor, outputs) = last_output?;
        for (y, &q) in output.get_mut(..outputs)?.iter_mut().zip(current.get(..outputs)?) {
            *y = (i32::from(q) - tensor.zero_point) as f32 * tensor.scale;
        }
        Some(())
    }
}

/// A network of either kind with run-time shapes, borrowed from a weight file.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // no heap to box into; a program holds one or two
pub enum RunTimeModel<'a> {
    /// f32 parameters.
    F32(F32Model<'a>),
    /// int8 parameters (integer-only inference).
    Int8(Int8Model<'a>),
}

impl<'a> RunTimeModel<'a> {
    /// The network `file` holds, borrowed from its bytes.
    ///
    /// # Errors
    /// [`Error::Misaligned`] if the file does not start at a 4-byte aligned address;
    /// [`Error::UnsupportedModelKind`] for an int8 file in a build without nn-core's `int8`
    /// feature (such a build refuses it at parse already).
    pub fn from_file(file: &WeightFile<'a>) -> Result<RunTimeModel<'a>, Error> {
        match file.kind() {
            #[cfg(feature = "int8")]
            ModelKind::Int8 => file.int8_model().map(RunTimeModel::Int8),
            ModelKind::F32 => file.f32_model().map(RunTimeModel::F32),
            #[allow(unreachable_patterns)] // int8 without the feature
            _ => Err(Error::UnsupportedModelKind { found: 1 }),
        }
    }
}

/// A weight file's network run with run-time shapes in a build's [`Scratch`]: the
/// run-time path's [`Model`].
#[derive(Debug)]
pub struct RunTime<'a, 's, const WIDTH: usize> {
    model: RunTimeModel<'a>,
    inputs: usize,
    outputs: usize,
    scratch: &'s mut Scratch<WIDTH>,
}

impl<'a, 's, const WIDTH: usize> RunTime<'a, 's, WIDTH> {
    /// The network `file` holds, to run in `scratch`.
    ///
    /// # Errors
    /// [`Error::OverCapacity`] if its widest layer is wider than `WIDTH`; as
    /// [`RunTimeModel::from_file`].
    pub fn new(file: &WeightFile<'a>, scratch: &'s mut Scratch<WIDTH>) -> Result<Self, Error> {
        Scratch::<WIDTH>::check(file.widest_layer())?;
        Ok(RunTime {
            model: RunTimeModel::from_file(file)?,
            inputs: file.input_len(),
            outputs: file.output_len(),
            scratch,
        })
    }

    /// The network.
    pub fn model(&self) -> &RunTimeModel<'a> {
        &self.model
    }
}

impl<const WIDTH: usize> Model for RunTime<'_, '_, WIDTH> {
    fn kind(&self) -> ModelKind {
        match self.model {
            RunTimeModel::F32(_) => ModelKind::F32,
            RunTimeModel::Int8(_) => ModelKind::Int8,
        }
    }

    fn path(&self) -> Path {
        Path::RunTime
    }

    fn input_len(&self) -> usize {
        self.inputs
    }

    fn output_len(&self) -> usize {
        self.outputs
    }

    fn predict(&mut self, input: &[f32], output: &mut [f32]) -> bool {
        if output.len() != self.outputs {
            return false;
        }
        match &self.model {
            RunTimeModel::F32(model) => {
                let (a, b) = self.scratch.f32_pair();
                let Some(y) = forward_layers(model.layers.iter().copied(), input, a, b) else {
                    return false;
                };
                output.iter_mut().zip(y).for_each(|(o, y)| *o = *y);
                true
            }
            #[cfg(feature = "int8")]
            RunTimeModel::Int8(model) => {
                let (a, b) = self.scratch.i8_pair();
                model.predict(input, a, b, output).is_some()
            }
            #[cfg(not(feature = "int8"))]
            RunTimeModel::Int8(_) => false,
        }
    }
}
