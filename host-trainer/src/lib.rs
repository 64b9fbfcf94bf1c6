//! The desktop half: train nn-core networks from CSV data or from Rust, evaluate them with
//! nn-core's own forward, and export weight files for the board. Also: augmentation
//! ([`Augment`]), explanations ([`explain`]), and the `host-trainer` command line ([`cli`]).
//!
//! The Keras workflow, in Rust:
//! ```
//! use host_trainer::{fit, evaluate, Dataset, DynNetwork, Rng, Task, TrainConfig, Synthetic};
//! use nn_core::{Init, Loss};
//!
//! // Prepare data: y = x² on 100 points.
//! let mut rng = Rng::new(1);
//! let rows = Synthetic::Square.generate(100, 0.0, &mut rng);
//! let data = Dataset::from_xy(&rows);
//! // Define the model, choose optimizer and loss, fit.
//! let mut net = DynNetwork::from_spec(1, "16:tanh,1:linear")?;
//! net.init(Init::GlorotUniform, &mut rng);
//! let mut config = TrainConfig::new(Loss::MeanSquaredError);
//! config.epochs = 200;
//! let history = fit(&mut net, &data, None, &config, &mut rng, &mut |_| {})?;
//! // Evaluate with nn-core's forward (the code the board runs).
//! let metrics = evaluate(&net, &data, Loss::MeanSquaredError);
//! assert!(metrics.mse < history.loss[0]);
//! # Ok::<(), host_trainer::Error>(())
//! ```

pub mod augment;
pub mod bench;
pub mod boards;
pub mod class_weight;
pub mod cli;
pub mod cost;
pub mod cv;
pub mod data;
pub mod dropout;
pub mod engine;
pub mod error;
pub mod explain;
pub mod export;
pub mod fastmath;
pub mod gemm;
pub mod gradient;
pub mod imported;
pub mod keras;
pub mod metrics;
pub mod network;
pub mod onnx;
pub mod optim;
pub mod output;
pub mod parallel;
pub mod plot;
pub mod quantize;
pub mod rng;
pub mod schedule;
pub mod search;
pub mod split;
pub mod synth;
pub mod tflite;
pub mod train;

pub use augment::Augment;
pub use class_weight::ClassWeights;
pub use data::{Dataset, Normalize, Scaling, Table, Task};
pub use error::{DataError, Error};
pub use gradient::{Clip, GradientRules};
pub use metrics::{Metrics, evaluate};
pub use network::{DynNetwork, Predictor};
pub use nn_core;
pub use optim::Optimizer;
pub use rng::Rng;
pub use schedule::LrSchedule;
pub use synth::Synthetic;
pub use train::{EpochReport, History, TrainConfig, fit, fit_view};
