//! Dense neural networks for microcontrollers: `no_std`, no heap, no `unsafe` (but for small
//! Cortex-M4 assembly kernels in two modules: the DSP dot products and input quantization of
//! [`quant`], the FPU loops of [`dense`]), shapes checked by the compiler.
//!
//! - [`Dense<IN, OUT, A>`](Dense) layers chained with [`network!`]; a chain whose shapes do
//!   not meet does not compile. [`Layer::predict`] never allocates, never panics, and costs
//!   the same for every input; [`Layer::WEIGHT_BYTES`] and [`Layer::PEAK_ACTIVATION_BYTES`]
//!   say what a network needs.
//! - Backprop per sample into a gradient buffer of the network's own type
//!   ([`Trainable::accumulate_gradients`]), losses ([`Loss`]), initialisation ([`Init`]).
//! - The weight file ([`WeightFile`], [`encode`]): versioned, CRC-checked, every defect a
//!   distinct [`Error`]. A file loads into a network type only if its layers are the type's;
//!   on a board the weights are borrowed from flash ([`WeightFile::borrow_network`]).
//! - The layer view ([`LayerView`]): any network as (spec, weights, bias) per layer, and
//!   [`predict_view`], the run-time-shaped forward over it (same bits as the typed one).
//! - int8 inference ([`quant`], [`int8`]): integer-only, bit for bit the same on every
//!   target; int8 files ([`encode_int8`], model kind int8) borrowed as typed networks
//!   ([`WeightFile::borrow_int8`]) or seen with run-time shapes ([`Int8Model`]).
//! - Any file on a board without a rebuild: [`runtime`] runs a weight file of either kind
//!   with the shapes its header gives, in scratch of a capacity fixed at build time; every
//!   form (typed f32, typed int8, run-time) is a [`Model`].
//! - On-device learning: [`finetune`] (SGD on the biases and last layer, say) and
//!   [`store`] (weight files in two NOR-flash slots, safe against power cuts).
//!
//! Every operation is written once over slices ([`dense`], [`activation`], [`loss`]); the typed
//! layers are thin wrappers whose sizes the compiler knows.
//!
//! # Example
//! Build a 2-layer network, predict, save it, load it back (owned and borrowed):
//! ```
//! use nn_core::{network, encode, encoded_len, Dense, Identity, Init, Layer, Metadata, Tanh, Trainable, WeightFile};
//! use rand_pcg::Pcg32;
//! use rand_core::SeedableRng;
//!
//! type Net = network![Dense<2, 8, Tanh>, Dense<8, 1, Identity>];
//! let net = Net::init(&mut Pcg32::seed_from_u64(7), Init::GlorotUniform);
//! let y = net.predict(&[0.5, -1.0]);
//!
//! let meta = Metadata { name: "demo", test_inputs: &[0.5, -1.0], test_outputs: &y, ..Metadata::default() };
//! let mut buf = [0u8; 256];
//! assert!(encoded_len(&net, &meta)? <= buf.len());
//! let len = encode(&net, &meta, &mut buf)?;
//!
//! let file = WeightFile::parse_exact(&buf[..len])?;
//! assert_eq!(file.name(), "demo");
//! assert_eq!(file.layers().to_string(), "2-8 tanh-1 linear");
//! let copy: Net = file.to_network()?;
//! assert_eq!(copy.predict(&[0.5, -1.0]), y);
//! # Ok::<(), nn_core::Error>(())
//! ```
#![no_std]
// The exceptions, both Cortex-M4 only and each beside a portable twin that gives the same
// bits: `quant::dsp` (three DSP instructions stable Rust has no intrinsics for, inline
// assembly on registers only, and two global-assembly loops: four rows of dot products,
// input quantization) and `dense::fpv4` (load-multiple FPU loops, global assembly).
#![deny(unsafe_code)]
#![deny(missing_docs)]

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[cfg(target_endian = "big")]
compile_error!("the weight file stores little-endian f32 that are borrowed in place");

pub mod activation;
pub mod dense;
pub mod finetune;
pub mod format;
pub mod init;
pub mod int8;
pub mod layer;
pub mod load;
pub mod loss;
pub mod math;
pub mod model;
pub mod quant;
pub mod runtime;
pub mod store;
pub mod tflm;
pub mod view;

pub use activation::{Activation, ActivationFn, Identity, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use format::{
    Error, F32Bytes, FORMAT_VERSION, Int8LayerParams, Int8Model, Int8Rules, Int8Stage, Lookup, MAGIC,
    Metadata, ModelKind, Names, NamesSpec, Normalization, NormalizationParams, QuantParams, TflmActivation,
    TflmStage, WeightFile, encode, encode_int8, encoded_len, encoded_len_int8,
};
pub use init::Init;
pub use int8::{Int8DenseRef, Int8Finish, Int8Forward, Int8Layers, Int8Network, Int8OutputRef};
pub use layer::{Dense, DenseCache, DenseRef, GradientOf, Layer, Trainable, Vector};
pub use loss::{Loss, loss_and_delta};
pub use model::{Model, Path};
pub use view::{
    LayerList, LayerParams, LayerParamsMut, LayerSpec, LayerView, LayerViewMut, MAX_LAYERS, NetworkType,
    predict_view, widest_layer,
};
