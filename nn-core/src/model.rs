//! One model interface for every form a network takes on a board: a typed f32 network
//! ([`Layer`]), a typed int8 one ([`Int8Network`]) and the run-time path
//! ([`RunTime`](crate::runtime::RunTime)), so that code which runs, checks and measures a
//! model is written once, over `&mut dyn Model`, and only the networks are per shape.

use crate::format::ModelKind;
use crate::int8::{Int8Finish, Int8Network};
use crate::layer::{Layer, Vector};

/// How a model's shapes are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A network type compiled for the file's shape (loops specialised to its sizes).
    Typed,
    /// Shapes read from the file at run time ([`crate::runtime`]).
    RunTime,
}

impl Path {
    /// `typed` or `generic`, as the firmware's BENCH line says it.
    pub fn name(self) -> &'static str {
        match self {
            Path::Typed => "typed",
            Path::RunTime => "generic",
        }
    }
}

/// A network that runs on normalized inputs, whatever its form.
pub trait Model {
    /// f32 or int8.
    fn kind(&self) -> ModelKind;
    /// Typed or run-time shapes.
    fn path(&self) -> Path;
    /// Inputs per sample.
    fn input_len(&self) -> usize;
    /// Outputs per sample.
    fn output_len(&self) -> usize;
    /// Runs the network on a normalized `input` into `output`. `false` (and `output` left
    /// as it was) if either length is not the model's; never panics, never allocates.
    fn predict(&mut self, input: &[f32], output: &mut [f32]) -> bool;
}

/// A typed f32 network, owned or borrowed from a file.
impl<N: Layer> Model for N {
    fn kind(&self) -> ModelKind {
        ModelKind::F32
    }

    fn path(&self) -> Path {
        Path::Typed
    }

    fn input_len(&self) -> usize {
        N::Input::LEN
    }

    fn output_len(&self) -> usize {
        N::Output::LEN
    }

    #[inline]
    fn predict(&mut self, input: &[f32], output: &mut [f32]) -> bool {
        match (N::Input::from_slice(input), N::Output::from_slice_mut(output)) {
            (Some(x), Some(y)) => {
                *y = Layer::predict(self, x);
                true
            }
            _ => false,
        }
    }
}

/// A typed int8 network borrowed from a file.
impl<L: Int8Finish> Model for Int8Network<L> {
    fn kind(&self) -> ModelKind {
        ModelKind::Int8
    }

    fn path(&self) -> Path {
        Path::Typed
    }

    fn input_len(&self) -> usize {
        L::Input::LEN
    }

    fn output_len(&self) -> usize {
        L::Output::LEN
    }

    #[inline]
    fn predict(&mut self, input: &[f32], output: &mut [f32]) -> bool {
        match (L::Input::from_slice(input), L::Output::from_slice_mut(output)) {
            (Some(x), Some(y)) => {
                *y = Int8Network::predict(self, x);
                true
            }
            _ => false,
        }
    }
}
