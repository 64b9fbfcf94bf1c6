//! Typed networks: `Dense<IN, OUT, A>` layers chained in pairs, shapes checked by the compiler.
//!
//! A network is a layer or a pair `(A, B)` of networks whose shapes meet:
//! `B::Input == A::Output`. Pairs nest, so any depth is a type; the [`network!`] macro
//! writes the nesting: `network![Dense<1, 16, Relu>, Dense<16, 1, Identity>]` is
//! `(Dense<1, 16, Relu>, Dense<16, 1, Identity>)`. A pair whose shapes do not meet has no
//! [`Layer`] impl, so using it does not compile.
//!
//! Two forms share every kernel: owned ([`Dense`], arrays in the struct, trainable) and
//! borrowed ([`DenseRef`], references into a weight file, e.g. in flash: weights cost no
//! RAM). [`Trainable::Ref`] names the borrowed form of an owned network type.
//!
//! [`network!`]: crate::network

use core::fmt::Debug;
use core::marker::PhantomData;

use crate::activation::{Activation, ActivationFn, activate, activation_backward};
use crate::dense::{dense_backward, dense_forward, dense_layer};
use crate::init::{Init, init_layer};
use crate::loss::{Loss, loss_and_delta};
use crate::view::{LayerParams, LayerParamsMut, LayerSpec, LayerView, LayerViewMut};

/// A fixed-size vector of `f32`, the input or output of a layer: `[f32; N]`.
pub trait Vector: Copy + Debug + PartialEq + AsRef<[f32]> + AsMut<[f32]> {
    /// Number of elements.
    const LEN: usize;
    /// The int8 vector of the same length, `[i8; N]` (what int8 layers pass on).
    type Int8: Copy + Debug + PartialEq + AsRef<[i8]> + AsMut<[i8]>;
    /// All zeros.
    fn zeroed() -> Self;
    /// The int8 vector of zeros.
    fn zeroed_int8() -> Self::Int8;
    /// `values` seen as this vector, if it has [`Vector::LEN`] elements (no copy).
    fn from_slice(values: &[f32]) -> Option<&Self>;
    /// `values` seen as this vector, writable, if it has [`Vector::LEN`] elements.
    fn from_slice_mut(values: &mut [f32]) -> Option<&mut Self>;
}

impl<const N: usize> Vector for [f32; N] {
    const LEN: usize = N;
    type Int8 = [i8; N];
    fn zeroed() -> Self {
        [0.0; N]
    }
    fn zeroed_int8() -> [i8; N] {
        [0; N]
    }
    fn from_slice(values: &[f32]) -> Option<&Self> {
        values.try_into().ok()
    }
    fn from_slice_mut(values: &mut [f32]) -> Option<&mut Self> {
        values.try_into().ok()
    }
}

/// A network (one layer or a chain) with shapes known to the compiler: the inference side.
pub trait Layer: LayerView {
    /// What the network takes: `[f32; IN]`.
    type Input: Vector;
    /// What the network returns: `[f32; OUT]`.
    type Output: Vector;
    /// Number of dense layers.
    const LAYER_COUNT: usize;
    /// Number of parameters (weights and biases).
    const PARAM_COUNT: usize;
    /// Bytes of parameters: what the owned network's `size_of` is, and what a weight file's
    /// parameter section holds.
    const WEIGHT_BYTES: usize = Self::PARAM_COUNT * size_of::<f32>();
    /// Bytes of activations alive at once during [`Layer::predict`]: the largest
    /// input + output of any one layer.
    const PEAK_ACTIVATION_BYTES: usize;

    /// The shape of layer `index` (from 0), known without a value of the type.
    fn spec_at(index: usize) -> Option<LayerSpec>;

    /// Runs the network on one input. Never allocates, never panics, and costs the same for
    /// every input.
    #[inline]
    fn predict(&self, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeroed();
        self.predict_into(x, &mut y);
        y
    }

    /// [`Layer::predict`] into a caller's output: a chain passes each layer's output to the
    /// next in one buffer, never copying it.
    fn predict_into(&self, x: &Self::Input, y: &mut Self::Output);
}

/// Which gradient [`Trainable::backward`] is given for the network's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientOf {
    /// dL/dy, the gradient with respect to the outputs (after the activation).
    Output,
    /// dL/dz, the gradient with respect to the last layer's pre-activation
    /// (what [`loss_and_delta`] returns).
    PreActivation,
}

/// An owned network that can be trained by backprop, initialised, and borrowed from a file.
///
/// Gradients go into a value of the network's own type (`grads: &mut Self`): the gradient
/// buffer is sized by the type, on the stack or in a static, never on a heap.
pub trait Trainable: Layer + LayerViewMut + Sized {
    /// What a forward pass keeps for the backward pass: each layer's pre-activation and output.
    type Cache;
    /// The borrowed form of this network: same shapes, parameters by reference.
    type Ref<'a>: Layer<Input = Self::Input, Output = Self::Output>
    where
        Self: 'a;
    /// Activation of the last layer.
    const OUTPUT_ACTIVATION: Activation;

    /// A network whose parameters are all zero (also a cleared gradient buffer).
    fn zeroed() -> Self;
    /// A cache for [`Trainable::forward_cached`].
    fn new_cache() -> Self::Cache;
    /// Forward pass that keeps what the backward pass needs; the output is
    /// [`Trainable::cached_output`] afterwards.
    fn forward_cached(&self, x: &Self::Input, cache: &mut Self::Cache);
    /// The network's output from a cache filled by [`Trainable::forward_cached`].
    fn cached_output(cache: &Self::Cache) -> &Self::Output;
    /// The last layer's pre-activation from a cache filled by [`Trainable::forward_cached`].
    fn cached_pre_activation(cache: &Self::Cache) -> &Self::Output;
    /// Backward pass for the sample `x` whose forward pass filled `cache`: adds the parameter
    /// gradients into `grads` and returns dL/dx.
    fn backward(
        &self,
        x: &Self::Input,
        cache: &Self::Cache,
        grad: Self::Output,
        wrt: GradientOf,
        grads: &mut Self,
    ) -> Self::Input;
    /// Builds the borrowed form from parameters laid out as in a weight file (per layer:
    /// weights row-major, then bias), taking them off the front of `params`. `None` if
    /// `params` is too short.
    fn borrow_params<'a>(params: &mut &'a [f32]) -> Option<Self::Ref<'a>>;

    /// A network initialised by `init`, drawing from `rng` (biases are zero).
    fn init<R: rand_core::Rng + ?Sized>(rng: &mut R, init: Init) -> Self {
        let mut net = Self::zeroed();
        for index in 0..Self::LAYER_COUNT {
            if let Some(layer) = net.layer_mut(index) {
                init_layer(init, layer, rng);
            }
        }
        net
    }

    /// One sample's forward and backward pass: adds dLoss/dParams into `grads` and returns
    /// the loss. The output layer's delta is fused with the loss where that is more stable
    /// (see [`loss_and_delta`]).
    fn accumulate_gradients(
        &self,
        x: &Self::Input,
        target: &Self::Output,
        loss: Loss,
        cache: &mut Self::Cache,
        grads: &mut Self,
    ) -> f32 {
        self.forward_cached(x, cache);
        let mut delta = Self::Output::zeroed();
        let value = loss_and_delta(
            loss,
            Self::OUTPUT_ACTIVATION,
            Self::cached_pre_activation(cache).as_ref(),
            Self::cached_output(cache).as_ref(),
            target.as_ref(),
            delta.as_mut(),
        );
        self.backward(x, cache, delta, GradientOf::PreActivation, grads);
        value
    }
}

/// A dense (fully connected) layer that owns its parameters: y = A(W x + b).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize, A> {
    /// Weights, `weights[o][i]` from input i to output o.
    pub weights: [[f32; IN]; OUT],
    /// One bias per output.
    pub bias: [f32; OUT],
    activation: PhantomData<A>,
}

/// A dense layer whose parameters are borrowed (e.g. from a weight file in flash).
#[derive(Debug)]
pub struct DenseRef<'a, const IN: usize, const OUT: usize, A> {
    /// Weights, `weights[o][i]` from input i to output o.
    pub weights: &'a [[f32; IN]; OUT],
    /// One bias per output.
    pub bias: &'a [f32; OUT],
    activation: PhantomData<A>,
}

impl<const IN: usize, const OUT: usize, A> Clone for DenseRef<'_, IN, OUT, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<const IN: usize, const OUT: usize, A> Copy for DenseRef<'_, IN, OUT, A> {}

/// Compile-time checks of a layer shape (instantiated by every constructor and pass).
struct Shape<const IN: usize, const OUT: usize>;
impl<const IN: usize, const OUT: usize> Shape<IN, OUT> {
    const VALID: () = assert!(
        IN > 0 && OUT > 0 && IN <= u16::MAX as usize && OUT <= u16::MAX as usize,
        "a dense layer needs 1 to 65535 inputs and outputs"
    );
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Dense<IN, OUT, A> {
    /// A layer with these weights (`weights[o][i]`) and biases.
    pub const fn new(weights: [[f32; IN]; OUT], bias: [f32; OUT]) -> Self {
        let () = Shape::<IN, OUT>::VALID;
        Dense {
            weights,
            bias,
            activation: PhantomData,
        }
    }

    /// The borrowed form of this layer.
    pub fn as_ref(&self) -> DenseRef<'_, IN, OUT, A> {
        DenseRef::new(&self.weights, &self.bias)
    }
}

impl<'a, const IN: usize, const OUT: usize, A: ActivationFn> DenseRef<'a, IN, OUT, A> {
    /// A layer borrowing these weights (`weights[o][i]`) and biases.
    pub const fn new(weights: &'a [[f32; IN]; OUT], bias: &'a [f32; OUT]) -> Self {
        let () = Shape::<IN, OUT>::VALID;
        DenseRef {
            weights,
            bias,
            activation: PhantomData,
        }
    }
}

const fn layer_spec<const IN: usize, const OUT: usize>(activation: Activation) -> LayerSpec {
    LayerSpec {
        inputs: IN as u16,
        outputs: OUT as u16,
        activation,
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

macro_rules! dense_layer_impls {
    ($ty:ty, $($lt:lifetime)?) => {
        impl<$($lt,)? const IN: usize, const OUT: usize, A: ActivationFn> Layer for $ty {
            type Input = [f32; IN];
            type Output = [f32; OUT];
            const LAYER_COUNT: usize = 1;
            const PARAM_COUNT: usize = IN * OUT + OUT;
            const PEAK_ACTIVATION_BYTES: usize = (IN + OUT) * size_of::<f32>();

            fn spec_at(index: usize) -> Option<LayerSpec> {
                (index == 0).then_some(layer_spec::<IN, OUT>(A::KIND))
            }

            #[inline]
            fn predict_into(&self, x: &[f32; IN], y: &mut [f32; OUT]) {
                dense_layer(self.weights.as_flattened(), &self.bias[..], A::KIND, x, y);
            }
        }

        impl<$($lt,)? const IN: usize, const OUT: usize, A: ActivationFn> LayerView for $ty {
            fn layer_count(&self) -> usize {
                1
            }
            fn layer(&self, index: usize) -> Option<LayerParams<'_>> {
                (index == 0).then(|| LayerParams {
                    spec: layer_spec::<IN, OUT>(A::KIND),
                    weights: self.weights.as_flattened(),
                    bias: &self.bias[..],
                })
            }
        }
    };
}

dense_layer_impls!(Dense<IN, OUT, A>,);
dense_layer_impls!(DenseRef<'a, IN, OUT, A>, 'a);

impl<const IN: usize, const OUT: usize, A: ActivationFn> LayerViewMut for Dense<IN, OUT, A> {
    fn layer_mut(&mut self, index: usize) -> Option<LayerParamsMut<'_>> {
        (index == 0).then(|| LayerParamsMut {
            spec: layer_spec::<IN, OUT>(A::KIND),
            weights: self.weights.as_flattened_mut(),
            bias: &mut self.bias[..],
        })
    }
}

/// What a dense layer keeps from its forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseCache<const OUT: usize> {
    /// Pre-activation z = W x + b.
    pub z: [f32; OUT],
    /// Output y = A(z).
    pub y: [f32; OUT],
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Trainable for Dense<IN, OUT, A> {
    type Cache = DenseCache<OUT>;
    type Ref<'a>
        = DenseRef<'a, IN, OUT, A>
    where
        Self: 'a;
    const OUTPUT_ACTIVATION: Activation = A::KIND;

    fn zeroed() -> Self {
        Dense::new([[0.0; IN]; OUT], [0.0; OUT])
    }

    fn new_cache() -> DenseCache<OUT> {
        DenseCache {
            z: [0.0; OUT],
            y: [0.0; OUT],
        }
    }

    fn forward_cached(&self, x: &[f32; IN], cache: &mut DenseCache<OUT>) {
        dense_forward(self.weights.as_flattened(), &self.bias, x, &mut cache.z);
        cache.y = cache.z;
        activate(A::KIND, &mut cache.y);
    }

    fn cached_output(cache: &DenseCache<OUT>) -> &[f32; OUT] {
        &cache.y
    }

    fn cached_pre_activation(cache: &DenseCache<OUT>) -> &[f32; OUT] {
        &cache.z
    }

    fn backward(
        &self,
        x: &[f32; IN],
        cache: &DenseCache<OUT>,
        mut grad: [f32; OUT],
        wrt: GradientOf,
        grads: &mut Self,
    ) -> [f32; IN] {
        if wrt == GradientOf::Output {
            activation_backward(A::KIND, &cache.y, &mut grad);
        }
        let mut grad_x = [0.0; IN];
        dense_backward(
            self.weights.as_flattened(),
            x,
            &grad,
            grads.weights.as_flattened_mut(),
            &mut grads.bias,
            &mut grad_x,
        );
        grad_x
    }

    fn borrow_params<'a>(params: &mut &'a [f32]) -> Option<DenseRef<'a, IN, OUT, A>> {
        let (weights, rest) = params.split_at_checked(IN * OUT)?;
        let (bias, rest) = rest.split_at_checked(OUT)?;
        let (rows, _) = weights.as_chunks::<IN>();
        let weights = <&[[f32; IN]; OUT]>::try_from(rows).ok()?;
        let bias = <&[f32; OUT]>::try_from(bias).ok()?;
        *params = rest;
        Some(DenseRef::new(weights, bias))
    }
}

impl<A: Layer, B: Layer<Input = A::Output>> Layer for (A, B) {
    type Input = A::Input;
    type Output = B::Output;
    const LAYER_COUNT: usize = A::LAYER_COUNT + B::LAYER_COUNT;
    const PARAM_COUNT: usize = A::PARAM_COUNT + B::PARAM_COUNT;
    const PEAK_ACTIVATION_BYTES: usize = max(A::PEAK_ACTIVATION_BYTES, B::PEAK_ACTIVATION_BYTES);

    fn spec_at(index: usize) -> Option<LayerSpec> {
        match index.checked_sub(A::LAYER_COUNT) {
            None => A::spec_at(index),
            Some(rest) => B::spec_at(rest),
        }
    }

    #[inline]
    fn predict_into(&self, x: &A::Input, y: &mut B::Output) {
        let mut hidden = A::Output::zeroed();
        self.0.predict_into(x, &mut hidden);
        self.1.predict_into(&hidden, y);
    }
}

impl<A: Layer, B: Layer<Input = A::Output>> LayerView for (A, B) {
    fn layer_count(&self) -> usize {
        Self::LAYER_COUNT
    }
    fn layer(&self, index: usize) -> Option<LayerParams<'_>> {
        match index.checked_sub(A::LAYER_COUNT) {
            None => self.0.layer(index),
            Some(rest) => self.1.layer(rest),
        }
    }
}

impl<A: Trainable, B: Trainable<Input = A::Output>> LayerViewMut for (A, B) {
    fn layer_mut(&mut self, index: usize) -> Option<LayerParamsMut<'_>> {
        match index.checked_sub(A::LAYER_COUNT) {
            None => self.0.layer_mut(index),
            Some(rest) => self.1.layer_mut(rest),
        }
    }
}

impl<A: Trainable, B: Trainable<Input = A::Output>> Trainable for (A, B) {
    type Cache = (A::Cache, B::Cache);
    type Ref<'a>
        = (A::Ref<'a>, B::Ref<'a>)
    where
        Self: 'a;
    const OUTPUT_ACTIVATION: Activation = B::OUTPUT_ACTIVATION;

    fn zeroed() -> Self {
        (A::zeroed(), B::zeroed())
    }

    fn new_cache() -> Self::Cache {
        (A::new_cache(), B::new_cache())
    }

    fn forward_cached(&self, x: &A::Input, cache: &mut Self::Cache) {
        self.0.forward_cached(x, &mut cache.0);
        self.1.forward_cached(A::cached_output(&cache.0), &mut cache.1);
    }

    fn cached_output(cache: &Self::Cache) -> &B::Output {
        B::cached_output(&cache.1)
    }

    fn cached_pre_activation(cache: &Self::Cache) -> &B::Output {
        B::cached_pre_activation(&cache.1)
    }

    fn backward(
        &self,
        x: &A::Input,
        cache: &Self::Cache,
        grad: B::Output,
        wrt: GradientOf,
        grads: &mut Self,
    ) -> A::Input {
        let grad_hidden = self
            .1
            .backward(A::cached_output(&cache.0), &cache.1, grad, wrt, &mut grads.1);
        self.0
            .backward(x, &cache.0, grad_hidden, GradientOf::Output, &mut grads.0)
    }

    fn borrow_params<'a>(params: &mut &'a [f32]) -> Option<Self::Ref<'a>> {
        let first = A::borrow_params(params)?;
        let rest = B::borrow_params(params)?;
        Some((first, rest))
    }
}

/// The type of a network made of these layers, first to last: nests them in pairs.
///
/// ```
/// use nn_core::{network, Dense, Identity, Layer, Relu};
/// type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];
/// assert_eq!(Sine::LAYER_COUNT, 3);
/// assert_eq!(Sine::PARAM_COUNT, 321);
/// ```
#[macro_export]
macro_rules! network {
    ($last:ty $(,)?) => { $last };
    ($first:ty, $($rest:ty),+ $(,)?) => { ($first, $crate::network!($($rest),+)) };
}
