//! A network shaped at run time (from `--layers` or a weight file), with its parameters in
//! one flat vector in weight-file order. It exposes nn-core's layer view; typed networks are
//! trained by copying their parameters in and out through theirs.

use nn_core::{
    Activation, Init, LayerParams, LayerParamsMut, LayerSpec, LayerView, LayerViewMut, WeightFile,
};

use crate::error::Error;
use crate::rng::Rng;

/// A dense network whose shape is known at run time.
#[derive(Clone, Debug, PartialEq)]
pub struct DynNetwork {
    specs: Vec<LayerSpec>,
    /// Start of each layer's weights in `params`; one more entry: the total.
    offsets: Vec<usize>,
    params: Vec<f32>,
}

impl DynNetwork {
    /// A network of these layers, parameters zero.
    ///
    /// # Errors
    /// [`Error::WeightFile`] wrapping nn-core's [`check_layer_chain`](nn_core::format::check_layer_chain).
    pub fn new(specs: Vec<LayerSpec>) -> Result<DynNetwork, Error> {
        nn_core::format::check_layer_chain(&specs).map_err(|error| Error::weight_file("network", error))?;
        let mut offsets = vec![0];
        for spec in &specs {
            offsets.push(offsets[offsets.len() - 1] + spec.param_count());
        }
        let total = offsets[offsets.len() - 1];
        Ok(DynNetwork {
            specs,
            offsets,
            params: vec![0.0; total],
        })
    }

    /// A network taking `inputs` features through the layers of a `--layers` spec such as
    /// `16:relu,16:relu,1:linear`.
    ///
    /// # Errors
    /// [`Error::LayerSpec`] for a spec that does not parse; as [`DynNetwork::new`].
    pub fn from_spec(inputs: usize, spec: &str) -> Result<DynNetwork, Error> {
        DynNetwork::new(Self::parse_spec(inputs, spec)?)
    }

    /// The layers of a `--layers` spec for `inputs` features, without building the network
    /// (so that what it would take can be checked first).
    ///
    /// # Errors
    /// [`Error::LayerSpec`] for a spec that does not parse, or that sets a dropout rate (a
    /// training option: read it with [`DynNetwork::parse_layers`]).
    pub fn parse_spec(inputs: usize, spec: &str) -> Result<Vec<LayerSpec>, Error> {
        let (specs, dropout) = Self::parse_layers(inputs, spec)?;
        if dropout.iter().any(Option::is_some) {
            return Err(Error::LayerSpec {
                spec: spec.to_owned(),
                message: "dropout= is a training option here: read the spec with DynNetwork::parse_layers \
                          and give the rates to TrainConfig::dropout"
                    .into(),
            });
        }
        Ok(specs)
    }

    /// The layers of a `--layers` spec for `inputs` features, and the dropout rate each
    /// layer sets for its outputs, if any (`32:relu:dropout=0.2`).
    ///
    /// # Errors
    /// [`Error::LayerSpec`] for a spec that does not parse.
    pub fn parse_layers(inputs: usize, spec: &str) -> Result<(Vec<LayerSpec>, Vec<Option<f32>>), Error> {
        let bad = |message: String| Error::LayerSpec {
            spec: spec.to_owned(),
            message,
        };
        let mut specs = Vec::new();
        let mut dropout = Vec::new();
        let mut width = u16::try_from(inputs).map_err(|_| bad(format!("{inputs} inputs is too many")))?;
        for part in spec.split(',').map(str::trim) {
            let mut fields = part.split(':').map(str::trim);
            let (Some(units), Some(activation)) = (fields.next(), fields.next()) else {
                return Err(bad(format!("'{part}': expected UNITS:ACTIVATION, e.g. 16:relu")));
            };
            let units: u16 = units
                .parse()
                .ok()
                .filter(|&u| u > 0)
                .ok_or_else(|| bad(format!("'{units}' is not a number of units from 1 to 65535")))?;
            let activation = Activation::from_name(activation).ok_or_else(|| {
                let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
                bad(format!(
                    "unknown activation '{activation}' (one of {})",
                    names.join(", ")
                ))
            })?;
            let rate = match fields.next() {
                None => None,
                Some(option) => {
                    let rate = option
                        .strip_prefix("dropout=")
                        .and_then(|r| r.trim().parse::<f32>().ok())
                        .filter(|r| (0.0..1.0).contains(r))
                        .ok_or_else(|| {
                            bad(format!(
                                "'{part}': expected dropout=RATE after the activation, RATE at least 0 and below 1"
                            ))
                        })?;
                    Some(rate)
                }
            };
            if fields.next().is_some() {
                return Err(bad(format!("'{part}': expected UNITS:ACTIVATION[:dropout=RATE]")));
            }
            specs.push(LayerSpec {
                inputs: width,
                outputs: units,
                activation,
            });
            dropout.push(rate);
            width = units;
        }
        Ok((specs, dropout))
    }

    /// A copy of any network seen through the layer view.
    ///
    /// # Errors
    /// As [`DynNetwork::new`].
    pub fn from_view(view: &dyn LayerView) -> Result<DynNetwork, Error> {
        let specs = (0..view.layer_count())
            .filter_map(|i| view.layer(i))
            .map(|l| l.spec)
            .collect();
        let mut net = DynNetwork::new(specs)?;
        for index in 0..view.layer_count() {
            if let (Some(from), Some(to)) = (view.layer(index), net.layer_mut(index)) {
                to.weights.copy_from_slice(from.weights);
                to.bias.copy_from_slice(from.bias);
            }
        }
        Ok(net)
    }

    /// The network in a checked weight file.
    ///
    /// # Errors
    /// As [`DynNetwork::new`] (a parsed file always passes).
    pub fn from_file(file: &WeightFile<'_>) -> Result<DynNetwork, Error> {
        if file.kind() != nn_core::ModelKind::F32 {
            return Err(Error::Config(format!(
                "the file holds an {} model; this needs an f32 model",
                file.kind()
            )));
        }
        let mut net = DynNetwork::new(file.layers().as_slice().to_vec())?;
        for (p, v) in net.params.iter_mut().zip(file.params().iter()) {
            *p = v;
        }
        Ok(net)
    }

    /// Writes this network's parameters into `view`, a network of the same layers.
    ///
    /// # Errors
    /// [`Error::Config`] if the layers differ.
    pub fn copy_to(&self, view: &mut dyn LayerViewMut) -> Result<(), Error> {
        for (index, spec) in self.specs.iter().enumerate() {
            let from = self
                .layer(index)
                .ok_or_else(|| Error::Config("layer count differs".into()))?;
            let to = view.layer_mut(index).filter(|l| l.spec == *spec).ok_or_else(|| {
                Error::Config(format!("layer {index} of the target network is not {spec:?}"))
            })?;
            to.weights.copy_from_slice(from.weights);
            to.bias.copy_from_slice(from.bias);
        }
        Ok(())
    }

    /// Draws new weights by `init` (biases zero).
    pub fn init(&mut self, init: Init, rng: &mut Rng) {
        for index in 0..self.specs.len() {
            if let Some(layer) = self.layer_mut(index) {
                nn_core::init::init_layer(init, layer, rng.inner());
            }
        }
    }

    /// The layers.
    pub fn specs(&self) -> &[LayerSpec] {
        &self.specs
    }

    /// Where each layer's parameters start in [`DynNetwork::params`], and the total last.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// All parameters, in weight-file order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// All parameters, writable.
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Inputs of the first layer.
    pub fn inputs(&self) -> usize {
        usize::from(self.specs[0].inputs)
    }

    /// Activation of the last layer.
    pub fn output_activation(&self) -> Activation {
        self.specs[self.specs.len() - 1].activation
    }

    /// Outputs of the last layer.
    pub fn outputs(&self) -> usize {
        usize::from(self.specs[self.specs.len() - 1].outputs)
    }

    /// The Rust type of this network for the firmware: `nn_core::network![...]`.
    pub fn rust_type(&self) -> String {
        nn_core::NetworkType(&self.specs).to_string()
    }
}

impl LayerView for DynNetwork {
    fn layer_count(&self) -> usize {
        self.specs.len()
    }

    fn layer(&self, index: usize) -> Option<LayerParams<'_>> {
        let spec = *self.specs.get(index)?;
        let params = &self.params[self.offsets[index]..self.offsets[index + 1]];
        let (weights, bias) = params.split_at(spec.weight_count());
        Some(LayerParams { spec, weights, bias })
    }
}

impl LayerViewMut for DynNetwork {
    fn layer_mut(&mut self, index: usize) -> Option<LayerParamsMut<'_>> {
        let spec = *self.specs.get(index)?;
        let params = &mut self.params[self.offsets[index]..self.offsets[index + 1]];
        let (weights, bias) = params.split_at_mut(spec.weight_count());
        Some(LayerParamsMut { spec, weights, bias })
    }
}

/// Runs nn-core's forward on many inputs with one pair of scratch buffers.
#[derive(Debug)]
pub struct Predictor {
    a: Vec<f32>,
    b: Vec<f32>,
}

impl Predictor {
    /// Scratch for `net`.
    pub fn new(net: &dyn LayerView) -> Predictor {
        let width = nn_core::widest_layer(net);
        Predictor {
            a: vec![0.0; width],
            b: vec![0.0; width],
        }
    }

    /// nn-core's forward of `net` on `x` (which must have the network's input width).
    pub fn predict<'s>(&'s mut self, net: &dyn LayerView, x: &[f32]) -> &'s [f32] {
        nn_core::predict_view(net, x, &mut self.a, &mut self.b).unwrap_or(&[])
    }
}
