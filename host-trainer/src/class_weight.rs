//! Class weights (`--class-weight`) for unbalanced classification data, as Keras'
//! `fit(class_weight=...)`: each sample's loss is multiplied by its class's weight, and the
//! batch's loss is still divided by its number of samples.

use std::str::FromStr;

use crate::data::Dataset;
use crate::error::Error;

/// How classes are weighted.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ClassWeights {
    /// Every sample weighs 1.
    #[default]
    Equal,
    /// scikit-learn's `balanced`: class `c` weighs `samples / (classes · samples of c)`,
    /// counted on the training data.
    Balanced,
    /// Given weights by class (a label number or a class name); classes not named weigh 1.
    Given(Vec<(String, f32)>),
}

impl FromStr for ClassWeights {
    type Err = String;

    /// `balanced`, or `CLASS:WEIGHT,...` where CLASS is a label number or a class name, e.g.
    /// `0:1.0,1:3.5` or `benign:1,malignant:3`.
    fn from_str(text: &str) -> Result<ClassWeights, String> {
        if text.trim() == "balanced" {
            return Ok(ClassWeights::Balanced);
        }
        let mut given = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (class, weight) = part
                .rsplit_once(':')
                .ok_or_else(|| format!("'{part}': expected CLASS:WEIGHT (e.g. 1:3.5) or 'balanced'"))?;
            let weight: f32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w: &f32| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| format!("'{part}': the weight '{weight}' must be a number of 0 or more"))?;
            given.push((class.trim().to_owned(), weight));
        }
        Ok(ClassWeights::Given(given))
    }
}

impl ClassWeights {
    /// The weight of each class of `data` by label (empty for [`ClassWeights::Equal`]).
    ///
    /// # Errors
    /// [`Error::Config`] for data that is not a classification, or a class that it does not
    /// have (naming the classes there are).
    pub fn resolve(&self, data: &Dataset) -> Result<Vec<f32>, Error> {
        if *self == ClassWeights::Equal {
            return Ok(Vec::new());
        }
        let classes = data.task.outputs().max(2);
        if !data.task.is_classification() || data.labels.is_empty() {
            return Err(Error::Config(
                "--class-weight weighs the classes of a classifier; this target is a regression".into(),
            ));
        }
        match self {
            ClassWeights::Equal => Ok(Vec::new()),
            ClassWeights::Balanced => {
                let mut counts = vec![0usize; classes];
                for &label in &data.labels {
                    if let Some(c) = counts.get_mut(label) {
                        *c += 1;
                    }
                }
                Ok(counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            1.0
                        } else {
                            (data.len() as f64 / (classes as f64 * c as f64)) as f32
                        }
                    })
                    .collect())
            }
            ClassWeights::Given(given) => {
                let mut weights = vec![1.0; classes];
                for (class, weight) in given {
                    let label = data
                        .class_names
                        .iter()
                        .position(|name| name == class)
                        .or_else(|| class.parse::<usize>().ok().filter(|&l| l < classes))
                        .ok_or_else(|| {
                            let names: Vec<String> = (0..classes)
                                .map(|l| match data.class_names.get(l) {
                                    Some(name) if *name != l.to_string() => format!("{l} ({name})"),
                                    _ => l.to_string(),
                                })
                                .collect();
                            Error::Config(format!(
                                "--class-weight: no class '{class}' (the classes: {})",
                                names.join(", ")
                            ))
                        })?;
                    weights[label] = *weight;
                }
                Ok(weights)
            }
        }
    }
}
