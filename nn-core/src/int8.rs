//! Typed int8 networks, borrowed from an int8 weight file (in flash they cost no RAM).
//!
//! The int8 form of a network type `N` (say `network![Dense<1, 16, Relu>, Dense<16, 1,
//! Identity>]`) is [`Int8Network`]`<N::Last<'a>>` ([`Int8Layers`]), from
//! [`WeightFile::borrow_int8`](crate::WeightFile::borrow_int8): every layer but the last is
//! an [`Int8DenseRef`] (int8 in, int8 out, requantized), the last an [`Int8OutputRef`]
//! (int8 in, f32 out, dequantized, then its activation). Shapes are the type's, so the
//! compiler knows every loop bound, as for the f32 networks; the kernels are
//! [`crate::quant`]'s, shared with the run-time-shaped [`Int8Model`](crate::Int8Model), so
//! both give the same bits.

use core::marker::PhantomData;

use crate::activation::ActivationFn;
use crate::format::{Int8LayerParams, Int8Stage, Lookup, QuantParams};
use crate::layer::{Dense, Layer, Vector};
use crate::quant::{InputQuantizer, activate_output, dense_dequantized, hidden_layer};

/// The int8 layers of a network but its last: int8 in, int8 out.
pub trait Int8Forward {
    /// The f32 vector type of the input (`[f32; IN]`); the int8 input is its `Int8`.
    type Input: Vector;
    /// The f32 vector type of the output (`[f32; OUT]`); the int8 output is its `Int8`.
    type Output: Vector;
    /// Runs the layers on quantized inputs. Never panics, fixed cost.
    fn forward(&self, x: &<Self::Input as Vector>::Int8) -> <Self::Output as Vector>::Int8;
}

/// An int8 network ending in its dequantized output layer: int8 in, f32 out.
pub trait Int8Finish {
    /// The f32 vector type of the input (`[f32; IN]`); the int8 input is its `Int8`.
    type Input: Vector;
    /// The output, `[f32; OUT]`.
    type Output: Vector;
    /// Runs the layers on quantized inputs and returns the real outputs (after the output
    /// activation). Never panics, fixed cost.
    fn finish(&self, x: &<Self::Input as Vector>::Int8) -> Self::Output;
}

/// A hidden int8 layer borrowed from a file: `y = clamp(zp + requantize(W x + b))`.
#[derive(Debug)]
pub struct Int8DenseRef<'a, const IN: usize, const OUT: usize, A> {
    /// Weights, `weights[o][i]`.
    pub weights: &'a [[i8; IN]; OUT],
    /// Per output: the bias (input zero point folded in).
    pub bias: &'a [i32; OUT],
    /// Per output: the requantization multiplier.
    pub multiplier: &'a [i32; OUT],
    /// The layer's requantization shift.
    pub shift: u8,
    /// The output tensor.
    pub output: QuantParams,
    /// A tanh or sigmoid layer's table.
    pub lookup: Option<Lookup<'a>>,
    activation: PhantomData<A>,
}

/// The output int8 layer borrowed from a file: `y = A(scale · (W x + b))` in f32.
#[derive(Debug)]
pub struct Int8OutputRef<'a, const IN: usize, const OUT: usize, A> {
    /// Weights, `weights[o][i]`.
    pub weights: &'a [[i8; IN]; OUT],
    /// Per output: the bias (input zero point folded in).
    pub bias: &'a [i32; OUT],
    /// Per output: the dequantization scale `s_in · s_w[o]`.
    pub scale: &'a [f32; OUT],
    activation: PhantomData<A>,
}

impl<'a, const IN: usize, const OUT: usize, A> Int8DenseRef<'a, IN, OUT, A> {
    /// The hidden layer `params` as this type, `None` if its shape or stage is not this one's.
    pub fn from_params(params: &Int8LayerParams<'a>) -> Option<Self> {
        let Int8Stage::Requantize {
            multiplier,
            shift,
            output,
            lookup,
        } = params.stage
        else {
            return None;
        };
        Some(Int8DenseRef {
            weights: rows(params.weights)?,
            bias: params.bias.try_into().ok()?,
            multiplier: multiplier.try_into().ok()?,
            shift,
            output,
            lookup,
            activation: PhantomData,
        })
    }
}

impl<'a, const IN: usize, const OUT: usize, A> Int8OutputRef<'a, IN, OUT, A> {
    /// The output layer `params` as this type, `None` if its shape or stage is not this one's.
    pub fn from_params(params: &Int8LayerParams<'a>) -> Option<Self> {
        let Int8Stage::Dequantize { scale } = params.stage else {
            return None;
        };
        Some(Int8OutputRef {
            weights: rows(params.weights)?,
            bias: params.bias.try_into().ok()?,
            scale: scale.try_into().ok()?,
            activation: PhantomData,
        })
    }
}

fn rows<const IN: usize, const OUT: usize>(weights: &[i8]) -> Option<&[[i8; IN]; OUT]> {
    let (rows, rest) = weights.as_chunks::<IN>();
    if !rest.is_empty() {
        return None;
    }
    rows.try_into().ok()
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Int8Forward for Int8DenseRef<'_, IN, OUT, A> {
    type Input = [f32; IN];
    type Output = [f32; OUT];

    #[inline]
    fn forward(&self, x: &[i8; IN]) -> [i8; OUT] {
        let mut y = [0; OUT];
        hidden_layer(
            self.weights.as_flattened(),
            self.bias,
            self.multiplier,
            self.shift,
            A::KIND,
            self.output,
            self.lookup.as_ref(),
            x,
            &mut y,
        );
        y
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Int8Finish for Int8OutputRef<'_, IN, OUT, A> {
    type Input = [f32; IN];
    type Output = [f32; OUT];

    #[inline]
    fn finish(&self, x: &[i8; IN]) -> [f32; OUT] {
        let mut y = [0.0; OUT];
        dense_dequantized(self.weights.as_flattened(), self.bias, self.scale, x, &mut y);
        activate_output(A::KIND, &mut y);
        y
    }
}

impl<A: Int8Forward, B: Int8Forward<Input = A::Output>> Int8Forward for (A, B) {
    type Input = A::Input;
    type Output = B::Output;

    #[inline]
    fn forward(&self, x: &<A::Input as Vector>::Int8) -> <B::Output as Vector>::Int8 {
        self.1.forward(&self.0.forward(x))
    }
}

impl<A: Int8Forward, B: Int8Finish<Input = A::Output>> Int8Finish for (A, B) {
    type Input = A::Input;
    type Output = B::Output;

    #[inline]
    fn finish(&self, x: &<A::Input as Vector>::Int8) -> B::Output {
        self.1.finish(&self.0.forward(x))
    }
}

/// A typed int8 network: its input tensor and its layers.
#[derive(Debug)]
pub struct Int8Network<L> {
    /// How inputs are quantized.
    pub input: QuantParams,
    quantizer: InputQuantizer,
    /// The layers.
    pub layers: L,
}

impl<L: Int8Finish> Int8Network<L> {
    /// The network with inputs quantized by `input`.
    pub fn new(input: QuantParams, layers: L) -> Self {
        Int8Network {
            input,
            quantizer: input.input_quantizer(),
            layers,
        }
    }

    /// Runs the network on a normalized input: quantizes it, runs the integer layers,
    /// dequantizes the last one's sums and applies its activation. Never allocates, never
    /// panics, and costs the same for every input.
    #[inline]
    pub fn predict(&self, x: &L::Input) -> L::Output {
        let mut q = L::Input::zeroed_int8();
        self.quantizer.quantize_slice(x.as_ref(), q.as_mut());
        self.layers.finish(&q)
    }

    /// Runs the network on an already quantized input.
    #[inline]
    pub fn predict_quantized(&self, q: &<L::Input as Vector>::Int8) -> L::Output {
        self.layers.finish(q)
    }
}

/// A typed network that can be borrowed as an int8 network from the layers of an int8 file
/// ([`WeightFile::borrow_int8`](crate::WeightFile::borrow_int8)): every [`Dense`] layer, and
/// every chain of them.
pub trait Int8Layers: Layer {
    /// The int8 form of this network as hidden layers (int8 in, int8 out).
    type Hidden<'a>: Int8Forward<Input = Self::Input, Output = Self::Output>
    where
        Self: 'a;
    /// The int8 form of this network ending in its output layer (int8 in, f32 out).
    type Last<'a>: Int8Finish<Input = Self::Input, Output = Self::Output>
    where
        Self: 'a;

    /// Builds the int8 hidden form from the front of `layers` (taking them off). `None` if
    /// a layer's shape or stage is not this type's.
    fn borrow_hidden<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Self::Hidden<'a>>;
    /// Builds the int8 form ending in the output layer from the front of `layers`.
    fn borrow_last<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Self::Last<'a>>;
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Int8Layers for Dense<IN, OUT, A> {
    type Hidden<'a>
        = Int8DenseRef<'a, IN, OUT, A>
    where
        Self: 'a;
    type Last<'a>
        = Int8OutputRef<'a, IN, OUT, A>
    where
        Self: 'a;

    fn borrow_hidden<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Int8DenseRef<'a, IN, OUT, A>> {
        let (first, rest) = layers.split_first()?;
        let layer = Int8DenseRef::from_params(first)?;
        *layers = rest;
        Some(layer)
    }

    fn borrow_last<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Int8OutputRef<'a, IN, OUT, A>> {
        let (first, rest) = layers.split_first()?;
        let layer = Int8OutputRef::from_params(first)?;
        *layers = rest;
        Some(layer)
    }
}

impl<A: Int8Layers, B: Int8Layers<Input = A::Output>> Int8Layers for (A, B) {
    type Hidden<'a>
        = (A::Hidden<'a>, B::Hidden<'a>)
    where
        Self: 'a;
    type Last<'a>
        = (A::Hidden<'a>, B::Last<'a>)
    where
        Self: 'a;

    fn borrow_hidden<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Self::Hidden<'a>> {
        let first = A::borrow_hidden(layers)?;
        let rest = B::borrow_hidden(layers)?;
        Some((first, rest))
    }

    fn borrow_last<'a>(layers: &mut &[Int8LayerParams<'a>]) -> Option<Self::Last<'a>> {
        let first = A::borrow_hidden(layers)?;
        let rest = B::borrow_last(layers)?;
        Some((first, rest))
    }
}
