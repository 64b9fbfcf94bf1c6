//! A data set made ready for training: a validation part held out (stratified for a
//! classifier) and the input normalization fitted on the training part, applied to both.

use crate::data::{Dataset, Normalize, Scaling};
use crate::rng::Rng;

/// A data set split for training: the raw rows of each part, the normalization fitted on
/// the training part, and both parts normalized.
#[derive(Clone, Debug)]
pub struct Splits {
    /// The training rows as read.
    pub raw_train: Dataset,
    /// The validation rows as read (empty without a validation share).
    pub raw_val: Dataset,
    /// The normalization fitted on the training rows, if any.
    pub scaling: Option<Scaling>,
    /// The training rows, normalized.
    pub train: Dataset,
    /// The validation rows, normalized.
    pub val: Dataset,
}

impl Splits {
    /// Holds out `val_share` of `raw` (stratified for a classifier; drawn from `rng`) and
    /// normalizes both parts as `normalize` says, fitted on the training part.
    pub fn of(raw: &Dataset, val_share: f32, normalize: Normalize, rng: &mut Rng) -> Splits {
        let (raw_train, raw_val) = raw.split(val_share, rng);
        let scaling = Scaling::fit(normalize, &raw_train);
        let (mut train, mut val) = (raw_train.clone(), raw_val.clone());
        if let Some(s) = &scaling {
            s.apply(&mut train);
            s.apply(&mut val);
        }
        Splits {
            raw_train,
            raw_val,
            scaling,
            train,
            val,
        }
    }

    /// The validation part, if it has rows.
    pub fn validation(&self) -> Option<&Dataset> {
        (!self.val.is_empty()).then_some(&self.val)
    }
}
