//! The trainer's errors: each says what is wrong and where.

use std::path::{Path, PathBuf};

/// A problem with input data or its fit to the network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be read.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The system's message.
        message: String,
    },
    /// The file has no header.
    #[error("{file}: empty file (expected a header line)")]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The file has a header but no data.
    #[error("{file}: no data rows after the header")]
    NoRows {
        /// The file.
        file: PathBuf,
    },
    /// Something wrong at a line (and column) of a file.
    #[error("{file}: line {line}{}: {message}", column.as_ref().map(|c| format!(", {c}")).unwrap_or_default())]
    At {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// e.g. `column 3 (petal_width)`.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A column name that is not in the header.
    #[error("{file}: no column named '{column}' (columns: {available})")]
    UnknownColumn {
        /// The file.
        file: PathBuf,
        /// The name asked for.
        column: String,
        /// The names there are.
        available: String,
    },
    /// Columns the model reads that the file does not have.
    #[error("{file}: no column {missing} (the model's input columns: {inputs}; the file's: {available})")]
    MissingColumns {
        /// The file.
        file: PathBuf,
        /// The model's columns not found, quoted.
        missing: String,
        /// The model's input columns.
        inputs: String,
        /// The file's columns.
        available: String,
    },
    /// Column names training cannot tell apart: empty, an index column, or twice the same.
    #[error("{file}: {message}")]
    ColumnNames {
        /// The file.
        file: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// Only a target column.
    #[error("{file}: no feature columns besides the target")]
    NoFeatures {
        /// The file.
        file: PathBuf,
    },
    /// The data has another number of features than the network's inputs.
    #[error("{file}: {features} feature columns, the network takes {inputs} inputs")]
    FeatureCount {
        /// The file.
        file: PathBuf,
        /// Feature columns in the data.
        features: usize,
        /// Inputs of the network.
        inputs: usize,
    },
    /// The output layer does not fit the task.
    #[error("the output layer has {outputs} outputs, which does not fit loss {loss}: {why}")]
    OutputDoesNotFit {
        /// Outputs of the last layer.
        outputs: usize,
        /// The loss.
        loss: &'static str,
        /// Why.
        why: String,
    },
}

impl Error {
    /// nn-core's `error` about `file`.
    pub fn weight_file(file: impl Into<PathBuf>, error: nn_core::Error) -> Error {
        Error::WeightFile {
            file: file.into(),
            error: Box::new(error),
        }
    }
}

impl DataError {
    /// An I/O error on `file`.
    pub fn io(file: &Path, error: &std::io::Error) -> DataError {
        DataError::Io {
            file: file.to_path_buf(),
            message: error.to_string(),
        }
    }
}

/// Everything that can stop the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A bad weight file, or a network no file may hold.
    #[error("{file}: {error}")]
    WeightFile {
        /// The file (or what was being written).
        file: PathBuf,
        /// nn-core's error (boxed: it carries two layer lists).
        error: Box<nn_core::Error>,
    },
    /// A `--layers` spec that does not parse.
    #[error("--layers '{spec}': {message}")]
    LayerSpec {
        /// The spec.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// The training loss became NaN or infinite.
    #[error(
        "training diverged: the loss became {loss} in epoch {epoch} (try a smaller learning rate); no file was written"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// The loss value.
        loss: f32,
    },
    /// A setting out of range.
    #[error("{0}")]
    Config(String),
    /// Writing an output failed.
    #[error("{file}: {message}")]
    Write {
        /// The file.
        file: PathBuf,
        /// The system's message.
        message: String,
    },
}
