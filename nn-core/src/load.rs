//! Typed networks read from a checked weight file: the typed side knows the format, the
//! format ([`crate::format`]) knows no network type. A file loads into a network type only
//! if its layers are the type's ([`WeightFile::check_layers`]).

use crate::format::{Error, ModelKind, WeightFile};
use crate::int8::{Int8Layers, Int8Network};
use crate::layer::{Layer, Trainable};

impl<'a> WeightFile<'a> {
    /// Checks that the file's layers are exactly those of the network type `N`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`].
    pub fn check_layers<N: Layer>(&self) -> Result<(), Error> {
        let file = self.layers().as_slice();
        for layer in 0..N::LAYER_COUNT.max(file.len()) {
            let (in_file, expected) = (file.get(layer).copied(), N::spec_at(layer));
            if in_file != expected {
                return Err(Error::ShapeMismatch {
                    layer,
                    file: in_file,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// Copies the parameters into a new network of type `N`.
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an int8 file; [`Error::ShapeMismatch`] if the file's
    /// layers are not `N`'s.
    pub fn to_network<N: Trainable>(&self) -> Result<N, Error> {
        self.expect_kind(ModelKind::F32)?;
        self.check_layers::<N>()?;
        let mut net = N::zeroed();
        let mut params = self.params().iter();
        for index in 0..N::LAYER_COUNT {
            if let Some(layer) = crate::LayerViewMut::layer_mut(&mut net, index) {
                for (p, v) in layer
                    .weights
                    .iter_mut()
                    .chain(layer.bias.iter_mut())
                    .zip(&mut params)
                {
                    *p = v;
                }
            }
        }
        Ok(net)
    }

    /// The network of type `N` with its parameters borrowed from the file's bytes (in
    /// flash, they cost no RAM).
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an int8 file; [`Error::ShapeMismatch`] if the file's
    /// layers are not `N`'s; [`Error::Misaligned`] if the file does not start at a 4-byte
    /// aligned address.
    pub fn borrow_network<N: Trainable + 'a>(&self) -> Result<N::Ref<'a>, Error> {
        self.expect_kind(ModelKind::F32)?;
        self.check_layers::<N>()?;
        let mut params = self.f32_params()?;
        N::borrow_params(&mut params).ok_or(self.misaligned())
    }

    /// The typed int8 network `N`'s layers borrowed from the file, with its input tensor.
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an f32 file, [`Error::ShapeMismatch`] if the file's
    /// layers are not `N`'s, [`Error::Misaligned`] if the file does not start at a 4-byte
    /// aligned address.
    pub fn borrow_int8<N: Int8Layers + 'a>(&self) -> Result<Int8Network<N::Last<'a>>, Error> {
        let model = self.int8_model()?;
        self.check_layers::<N>()?;
        let mut layers = model.layers.as_slice();
        // Cannot fail once the layers were checked against `N`.
        let net = N::borrow_last(&mut layers).ok_or(Error::ShapeMismatch {
            layer: 0,
            file: self.layers().as_slice().first().copied(),
            expected: N::spec_at(0),
        })?;
        Ok(Int8Network::new(model.input, net))
    }
}
