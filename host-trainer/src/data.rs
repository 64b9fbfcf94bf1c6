//! Data: CSV tables, targets for a task, splits, and input normalization.

use std::path::{Path, PathBuf};

use nn_core::Loss;

use crate::error::DataError;
use crate::rng::Rng;

/// A numeric CSV table with a header: every field parsed as a finite `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Column names from the header.
    pub columns: Vec<String>,
    /// The values, row-major.
    pub values: Vec<f32>,
    /// The line of the file each row came from (1-based; the header is line 1).
    pub lines: Vec<u64>,
    /// The label column read as text (see [`Table::read_labelled_csv`]): its index and one
    /// string per row. Its numeric values are NaN where a field is not a number.
    pub text: Option<(usize, Vec<String>)>,
}

impl Table {
    /// Reads a CSV file with a header line.
    ///
    /// # Errors
    /// [`DataError`] naming file, line and column: unreadable or empty file, a row with
    /// missing or extra fields, a field that is not a number or not finite.
    pub fn read_csv(path: &Path) -> Result<Table, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, &e))?;
        Table::from_reader(path, file)
    }

    /// Reads a CSV file whose column `label` may hold text (class names such as `setosa`):
    /// it is kept as text beside the numbers; every other field must be a number.
    ///
    /// # Errors
    /// As [`Table::read_csv`].
    pub fn read_labelled_csv(path: &Path, label: &str) -> Result<Table, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, &e))?;
        Table::from_reader_with(path, file, Some(label))
    }

    /// Reads CSV from any reader; `path` names it in messages.
    ///
    /// # Errors
    /// As [`Table::read_csv`].
    pub fn from_reader(path: &Path, reader: impl std::io::Read) -> Result<Table, DataError> {
        Table::from_reader_with(path, reader, None)
    }

    /// As [`Table::from_reader`], with column `text_column` (if it is there) kept as text.
    ///
    /// # Errors
    /// As [`Table::read_csv`].
    pub fn from_reader_with(
        path: &Path,
        mut reader: impl std::io::Read,
        text_column: Option<&str>,
    ) -> Result<Table, DataError> {
        let at = |line: u64, column: Option<(usize, &str)>, message: String| DataError::At {
            file: path.to_path_buf(),
            line,
            column: column.map(|(i, name)| format!("column {} ({name})", i + 1)),
            message,
        };
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::io(path, &e))?;
        let text = CsvText::new(&bytes).map_err(|message| at(1, None, message))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.body());
        let header_line = text.line_at(0);
        let header = csv
            .headers()
            .map_err(|e| at(header_line, None, e.to_string()))?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(DataError::Empty {
                file: path.to_path_buf(),
            });
        }
        if header.len() == 1
            && let Some(separator) = other_separator(&header[0])
        {
            return Err(at(
                header_line,
                None,
                format!(
                    "one column named '{}': the file looks separated by {separator}, and host-trainer reads \
                     comma-separated files: save it as CSV with commas (and decimal points, not decimal commas)",
                    &header[0]
                ),
            ));
        }
        let columns: Vec<String> = header.iter().map(str::to_owned).collect();
        let text_index = text_column.and_then(|name| columns.iter().position(|c| c == name));
        let mut labels_text = Vec::new();
        let mut values = Vec::new();
        let mut lines = Vec::new();
        for record in csv.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| text.line_at(p.byte()));
                at(line, None, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| text.line_at(p.byte()));
            if record.len() != columns.len() {
                let what = if record.len() < columns.len() {
                    "missing fields"
                } else {
                    "extra fields"
                };
                return Err(at(
                    line,
                    None,
                    format!(
                        "{what}: {} fields, the header has {}",
                        record.len(),
                        columns.len()
                    ),
                ));
            }
            for (index, field) in record.iter().enumerate() {
                if Some(index) == text_index {
                    labels_text.push(field.to_owned());
                    values.push(
                        field
                            .parse()
                            .ok()
                            .filter(|v: &f32| v.is_finite())
                            .unwrap_or(f32::NAN),
                    );
                    continue;
                }
                let column = Some((index, columns[index].as_str()));
                let value: f32 = field
                    .parse()
                    .map_err(|_| at(line, column, format!("'{field}' is not a number")))?;
                if !value.is_finite() {
                    return Err(at(line, column, format!("'{field}' is not a finite number")));
                }
                values.push(value);
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(DataError::NoRows {
                file: path.to_path_buf(),
            });
        }
        Ok(Table {
            path: path.to_path_buf(),
            columns,
            values,
            lines,
            text: text_index.map(|index| (index, labels_text)),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The index of column `name`.
    ///
    /// # Errors
    /// [`DataError::UnknownColumn`], listing the columns there are.
    pub fn column(&self, name: &str) -> Result<usize, DataError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| DataError::UnknownColumn {
                file: self.path.clone(),
                column: name.to_owned(),
                available: self.columns.join(", "),
            })
    }

    /// Value at `row`, `column`.
    pub fn get(&self, row: usize, column: usize) -> f32 {
        self.values[row * self.columns.len() + column]
    }
}

/// What the network's outputs mean, which decides how target values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// One output, a number.
    Regression,
    /// One output, a probability of class 1; labels are 0 or 1.
    Binary,
    /// One output per class (softmax); labels are 0..classes.
    Classes(usize),
}

impl Task {
    /// The task a loss and an output width call for.
    ///
    /// # Errors
    /// [`DataError::OutputDoesNotFit`] when the output layer does not fit the loss for one
    /// target column.
    pub fn for_loss(loss: Loss, outputs: usize) -> Result<Task, DataError> {
        let misfit = |why: &str| DataError::OutputDoesNotFit {
            outputs,
            loss: loss.name(),
            why: why.to_owned(),
        };
        match loss {
            Loss::CrossEntropy if outputs >= 2 => Ok(Task::Classes(outputs)),
            Loss::CrossEntropy => Err(misfit(
                "cross-entropy needs one output per class (at least 2); for two classes with one output use binary-cross-entropy",
            )),
            Loss::BinaryCrossEntropy if outputs == 1 => Ok(Task::Binary),
            Loss::BinaryCrossEntropy => {
                Err(misfit("binary-cross-entropy of one target column needs 1 output"))
            }
            Loss::MeanSquaredError | Loss::MeanAbsoluteError if outputs == 1 => Ok(Task::Regression),
            Loss::MeanSquaredError | Loss::MeanAbsoluteError => {
                Err(misfit("regression of one target column needs 1 output"))
            }
        }
    }

    /// The loss a model file's last activation suggests, when none is given.
    pub fn default_loss(last: nn_core::Activation) -> Loss {
        match last {
            nn_core::Activation::Softmax => Loss::CrossEntropy,
            nn_core::Activation::Sigmoid => Loss::BinaryCrossEntropy,
            _ => Loss::MeanSquaredError,
        }
    }

    /// Width of the network's output for this task.
    pub fn outputs(self) -> usize {
        match self {
            Task::Regression | Task::Binary => 1,
            Task::Classes(n) => n,
        }
    }

    /// True for the classification tasks.
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }
}

/// Features and targets ready for a network: targets one-hot for classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Names of the feature columns.
    pub feature_names: Vec<String>,
    /// Features, row-major, `features()` per row.
    pub features: Vec<f32>,
    /// Targets, row-major, `task.outputs()` per row.
    pub targets: Vec<f32>,
    /// Class labels, for classification.
    pub labels: Vec<usize>,
    /// The task.
    pub task: Task,
    /// Class names, class by class, where the labels were text (or the model names them);
    /// empty for numbered classes and regression.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// Takes `target` as the target column and every other column as a feature.
    ///
    /// # Errors
    /// As [`Dataset::from_columns`], and [`DataError::UnknownColumn`] or
    /// [`DataError::NoFeatures`].
    pub fn from_table(table: &Table, target: &str, task: Task) -> Result<Dataset, DataError> {
        let target_column = table.column(target)?;
        let inputs: Vec<usize> = (0..table.columns.len()).filter(|&c| c != target_column).collect();
        if inputs.is_empty() {
            return Err(DataError::NoFeatures {
                file: table.path.clone(),
            });
        }
        Dataset::from_columns(table, &inputs, target_column, task, &[])
    }

    /// The samples of `table` with the columns `inputs` as features (in that order) and
    /// column `target` as the target. For a classifier the labels are class numbers (0, 1,
    /// ...) or class names: `classes` (a model's, in its order) when given, else the text
    /// labels of the table in sorted order.
    ///
    /// # Errors
    /// [`DataError::At`] for a label that is not a class (with its line and column), a
    /// regression target that is not a number, or more distinct text labels than classes.
    pub fn from_columns(
        table: &Table,
        inputs: &[usize],
        target: usize,
        task: Task,
        classes: &[String],
    ) -> Result<Dataset, DataError> {
        let target_name = table.columns[target].as_str();
        let at = |row: usize, message: String| DataError::At {
            file: table.path.clone(),
            line: table.lines.get(row).copied().unwrap_or(1),
            column: Some(format!("column {} ({target_name})", target + 1)),
            message,
        };
        let text = table
            .text
            .as_ref()
            .filter(|(column, _)| *column == target)
            .map(|(_, t)| t);
        let count = task.outputs().max(2);
        let class_names: Vec<String> = match text {
            _ if !classes.is_empty() || !task.is_classification() => classes.to_vec(),
            Some(text) if text.iter().any(|label| label.parse::<f32>().is_err()) => {
                let mut names = text.clone();
                names.sort();
                names.dedup();
                if names.len() > count {
                    return Err(at(
                        0,
                        format!(
                            "{} different labels ({}), the output layer has {count} classes",
                            names.len(),
                            names.join(", ")
                        ),
                    ));
                }
                names
            }
            _ => Vec::new(),
        };
        let mut data = Dataset {
            feature_names: inputs.iter().map(|&c| table.columns[c].clone()).collect(),
            features: Vec::with_capacity(table.rows() * inputs.len()),
            targets: Vec::with_capacity(table.rows() * task.outputs()),
            labels: Vec::new(),
            task,
            class_names,
        };
        for row in 0..table.rows() {
            data.features.extend(inputs.iter().map(|&c| table.get(row, c)));
            let value = table.get(row, target);
            let field = text.map(|t| t[row].as_str());
            match task {
                Task::Regression => {
                    if value.is_nan() {
                        let field = field.unwrap_or_default();
                        let what = if field.parse::<f32>().is_ok() {
                            "a finite number"
                        } else {
                            "a number"
                        };
                        return Err(at(row, format!("'{field}' is not {what}")));
                    }
                    data.targets.push(value);
                }
                Task::Binary | Task::Classes(_) => {
                    let named = field.and_then(|f| data.class_names.iter().position(|n| n == f));
                    let label = match named {
                        Some(label) => label,
                        None if value.fract() == 0.0 && value >= 0.0 && (value as usize) < count => {
                            value as usize
                        }
                        None => {
                            let shown = field.map_or_else(|| value.to_string(), str::to_owned);
                            let message = if data.class_names.is_empty() {
                                format!(
                                    "label {shown} is not one of the output layer's {count} classes (0 to {})",
                                    count - 1
                                )
                            } else {
                                format!(
                                    "label {shown} is not one of the classes ({})",
                                    data.class_names.join(", ")
                                )
                            };
                            return Err(at(row, message));
                        }
                    };
                    data.labels.push(label);
                    if task == Task::Binary {
                        data.targets.push(label as f32);
                    } else {
                        data.targets
                            .extend((0..count).map(|c| if c == label { 1.0 } else { 0.0 }));
                    }
                }
            }
        }
        Ok(data)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len() / self.task.outputs()
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features per sample.
    pub fn feature_count(&self) -> usize {
        self.feature_names.len()
    }

    /// Features of sample `i`.
    pub fn x(&self, i: usize) -> &[f32] {
        let n = self.feature_count();
        &self.features[i * n..(i + 1) * n]
    }

    /// Targets of sample `i`.
    pub fn y(&self, i: usize) -> &[f32] {
        let n = self.task.outputs();
        &self.targets[i * n..(i + 1) * n]
    }

    /// `count` sample indices spread over the data (at most `len()`): for a classifier,
    /// taken from each class in turn (each class in an order shuffled by `rng`), so that
    /// every class is there while it has samples; for regression, evenly spaced over the
    /// targets' range (sorted by the first target). What test vectors are drawn from, so a
    /// file sorted by class still carries vectors of every class.
    pub fn spread_indices(&self, count: usize, rng: &mut crate::Rng) -> Vec<usize> {
        let count = count.min(self.len());
        if self.labels.len() == self.len() && !self.labels.is_empty() {
            let classes = self.labels.iter().max().map_or(0, |&m| m + 1);
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
            for (i, &label) in self.labels.iter().enumerate() {
                by_class[label].push(i);
            }
            for members in &mut by_class {
                rng.shuffle(members);
            }
            let mut picked = Vec::with_capacity(count);
            let mut round = 0;
            while picked.len() < count {
                picked.extend(
                    by_class
                        .iter()
                        .filter_map(|members| members.get(round))
                        .take(count - picked.len()),
                );
                round += 1;
            }
            return picked;
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.y(a)[0].total_cmp(&self.y(b)[0]));
        match count {
            0 => Vec::new(),
            1 => vec![order[order.len() / 2]],
            _ => (0..count)
                .map(|k| order[k * (order.len() - 1) / (count - 1)])
                .collect(),
        }
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            features: indices.iter().flat_map(|&i| self.x(i).iter().copied()).collect(),
            targets: indices.iter().flat_map(|&i| self.y(i).iter().copied()).collect(),
            labels: if self.labels.is_empty() {
                vec![]
            } else {
                indices.iter().map(|&i| self.labels[i]).collect()
            },
            task: self.task,
            class_names: self.class_names.clone(),
        }
    }

    /// Splits off a held-out share `fraction` of the samples, shuffled by `rng`; stratified
    /// by class for classification (each class keeps its share). Returns (kept, held out).
    pub fn split(&self, fraction: f32, rng: &mut Rng) -> (Dataset, Dataset) {
        let mut kept = Vec::new();
        let mut held = Vec::new();
        let groups: Vec<Vec<usize>> = if self.labels.is_empty() {
            vec![(0..self.len()).collect()]
        } else {
            let classes = self.labels.iter().max().map_or(0, |m| m + 1);
            (0..classes)
                .map(|c| (0..self.len()).filter(|&i| self.labels[i] == c).collect())
                .collect()
        };
        for mut group in groups {
            rng.shuffle(&mut group);
            let n_held = (group.len() as f32 * fraction).round() as usize;
            held.extend_from_slice(&group[..n_held]);
            kept.extend_from_slice(&group[n_held..]);
        }
        // Interleave classes again so that neither side is ordered by class.
        rng.shuffle(&mut kept);
        rng.shuffle(&mut held);
        (self.select(&kept), self.select(&held))
    }
}

/// How to scale input features before the network sees them (`(x - offset) * scale`,
/// stored in the weight file so the board does the same).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Normalize {
    /// Mean 0, standard deviation 1 per feature, fitted on the training split.
    Standard,
    /// Each feature to [0, 1] by its training minimum and maximum.
    MinMax,
    /// Divide every feature by this number (e.g. 16 for the digits' pixels, 0-16).
    Divide(f32),
    /// Leave the features as they are (no normalization in the file).
    None,
}

impl std::str::FromStr for Normalize {
    type Err = String;
    fn from_str(s: &str) -> Result<Normalize, String> {
        match s {
            "standard" => Ok(Normalize::Standard),
            "min-max" => Ok(Normalize::MinMax),
            "none" => Ok(Normalize::None),
            _ => match s.strip_prefix("divide:").map(str::parse::<f32>) {
                Some(Ok(d)) if d.is_finite() && d != 0.0 => Ok(Normalize::Divide(d)),
                _ => Err(format!(
                    "'{s}': expected standard, min-max, none or divide:NUMBER"
                )),
            },
        }
    }
}

/// Per-feature offsets and scales.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    /// Subtracted first.
    pub offset: Vec<f32>,
    /// Then multiplied.
    pub scale: Vec<f32>,
}

impl Scaling {
    /// Fits `how` on the features of `data` (the training split). `None` for
    /// [`Normalize::None`].
    pub fn fit(how: Normalize, data: &Dataset) -> Option<Scaling> {
        let n = data.feature_count();
        let column = |f: usize| (0..data.len()).map(move |i| data.x(i)[f] as f64);
        let (offset, scale): (Vec<f32>, Vec<f32>) = match how {
            Normalize::None => return None,
            Normalize::Divide(d) => (vec![0.0; n], vec![1.0 / d; n]),
            Normalize::Standard => (0..n)
                .map(|f| {
                    let count = data.len().max(1) as f64;
                    let mean = column(f).sum::<f64>() / count;
                    let std = (column(f).map(|v| (v - mean) * (v - mean)).sum::<f64>() / count).sqrt();
                    (mean as f32, if std > 1e-12 { (1.0 / std) as f32 } else { 1.0 })
                })
                .unzip(),
            Normalize::MinMax => (0..n)
                .map(|f| {
                    let min = column(f).fold(f64::INFINITY, f64::min);
                    let max = column(f).fold(f64::NEG_INFINITY, f64::max);
                    let range = max - min;
                    (min as f32, if range > 1e-12 { (1.0 / range) as f32 } else { 1.0 })
                })
                .unzip(),
        };
        Some(Scaling { offset, scale })
    }

    /// Applies the scaling to every sample of `data`, with the arithmetic of nn-core's
    /// [`Normalization::apply`](nn_core::Normalization::apply) (what the board runs).
    pub fn apply(&self, data: &mut Dataset) {
        let n = data.feature_count();
        for row in data.features.chunks_exact_mut(n) {
            self.apply_row(row);
        }
    }

    /// Applies the scaling to one sample.
    pub fn apply_row(&self, x: &mut [f32]) {
        nn_core::format::normalize(x, self.offset.iter().copied(), self.scale.iter().copied());
    }
}

impl Dataset {
    /// A regression data set of one feature `x` and one target `y`.
    pub fn from_xy(rows: &[(f32, f32)]) -> Dataset {
        Dataset {
            feature_names: vec!["x".into()],
            features: rows.iter().map(|r| r.0).collect(),
            targets: rows.iter().map(|r| r.1).collect(),
            labels: vec![],
            task: Task::Regression,
            class_names: Vec::new(),
        }
    }
}

/// A CSV file's bytes as host-trainer reads them: UTF-8 (a byte-order mark skipped), an
/// Excel `sep=,` first line skipped, and line numbers counted as people count them, with
/// LF, CRLF or lone CR line ends and blank lines included.
struct CsvText<'a> {
    /// Everything after the skipped prefix.
    body: &'a [u8],
    /// Where each line after the first starts, as byte offsets into `body`.
    line_starts: Vec<u64>,
    /// The line number of `body`'s first line (2 after a skipped `sep=` line).
    first_line: u64,
}

impl<'a> CsvText<'a> {
    /// The text to parse, or why it cannot be read as a comma-separated file (what to do).
    fn new(bytes: &'a [u8]) -> Result<CsvText<'a>, String> {
        if bytes.starts_with(&[0xFF, 0xFE])
            || bytes.starts_with(&[0xFE, 0xFF])
            || bytes.iter().take(200).any(|&b| b == 0)
        {
            return Err(
                "the file is UTF-16 text, not UTF-8: save it as \"CSV UTF-8\" (Excel) or convert it, \
                 e.g. iconv -f UTF-16 -t UTF-8"
                    .into(),
            );
        }
        let mut body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        let mut first_line = 1;
        if body.len() >= 4 && body[..4].eq_ignore_ascii_case(b"sep=") {
            let end = body
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .unwrap_or(body.len());
            let separator = String::from_utf8_lossy(&body[4..end]).trim().to_owned();
            if separator != "," {
                return Err(format!(
                    "the first line says the separator is '{separator}' (Excel's sep= line), and host-trainer \
                     reads comma-separated files: save it as CSV with commas"
                ));
            }
            let mut rest = &body[end..];
            rest = rest.strip_prefix(b"\r").unwrap_or(rest);
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
            body = rest;
            first_line = 2;
        }
        let mut line_starts = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => {
                    line_starts.push(i as u64 + 2);
                    i += 2;
                }
                b'\r' | b'\n' => {
                    line_starts.push(i as u64 + 1);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        Ok(CsvText {
            body,
            line_starts,
            first_line,
        })
    }

    /// The bytes to parse.
    fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The 1-based line number of the record that starts at `offset` of the body (the csv
    /// reader may place a record's start on the line ends and blank lines before it).
    fn line_at(&self, offset: u64) -> u64 {
        let skipped = self
            .body
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count() as u64;
        let offset = offset + skipped;
        self.first_line + self.line_starts.partition_point(|&start| start <= offset) as u64
    }
}

/// The separator a lone header field shows the file uses instead of commas, if any.
fn other_separator(field: &str) -> Option<&'static str> {
    [(';', "semicolons (';')"), ('\t', "tabs"), ('|', "bars ('|')")]
        .into_iter()
        .find(|(c, _)| field.contains(*c))
        .map(|(_, name)| name)
}
