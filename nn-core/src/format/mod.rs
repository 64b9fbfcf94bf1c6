//! The weight file: the contract between the trainer and the firmware.
//!
//! The bytes are described in `nn-core/FORMAT.md`. In short:
//!
//! ```text
//! preamble  postcard: magic "NNWF", format version (varint u16)
//! header    postcard: name, model kind, layers (in, out, activation), normalized?, test vector count
//! padding   zeros up to a multiple of 4 bytes from the start of the file
//! body      f32 little-endian: [normalization offset[in], scale[in]],
//!           parameters: f32 kind: per layer weights [out][in] then bias [out];
//!                       int8 kind: see the `int8` module,
//!           test vectors: input[in] then expected output[out], each
//! crc       CRC-32 (ISO-HDLC) of every byte before it, u32 little-endian
//! ```
//!
//! Version 2 added the int8 kind; f32 files are still written as version 1 (byte for byte
//! what they were, so older readers keep reading them) and both versions are read.
//!
//! [`WeightFile::parse`] checks everything that does not depend on a network type. This
//! module knows no network type: typed networks are read from a checked file by
//! [`crate::load`] ([`WeightFile::to_network`], [`WeightFile::borrow_network`],
//! [`WeightFile::borrow_int8`]), the run-time path by [`crate::runtime`]. Nothing in here
//! panics on any input.

mod encode;
mod error;
mod header;
#[cfg_attr(not(feature = "int8"), allow(dead_code))] // written, not read, without the feature
mod int8;

pub use encode::{
    Metadata, NamesSpec, NormalizationParams, encode, encode_int8, encoded_len, encoded_len_int8,
};
pub use error::{Error, Location, NonFiniteValue};
pub use int8::{
    Int8LayerParams, Int8Model, Int8Rules, Int8Stage, Lookup, QuantParams, TflmActivation, TflmStage,
    hidden_activation_supported, hidden_min, hidden_uses_table,
};

use serde::Serialize;

use crate::view::{LayerList, LayerSpec};

/// The first four bytes of every weight file.
pub const MAGIC: [u8; 4] = *b"NNWF";
/// The newest format version this build reads and writes (it reads every version from 1).
/// Version 3 added the names of the input columns, the target and the classes; version 4
/// int8 hidden tanh and sigmoid layers by tables ([`Lookup`]). A file without either is still
/// written as version 1 (f32) or 2 (int8), byte for byte as before. Version 5 added int8
/// files of TensorFlow Lite Micro's arithmetic (kind byte 2, [`Int8Rules::TfliteMicro`]);
/// files of the other kinds are written as before.
pub const FORMAT_VERSION: u16 = 5;
/// The first version with int8 files of TensorFlow Lite Micro's arithmetic (kind byte 2).
pub const TFLM_FORMAT_VERSION: u16 = 5;
/// The first version whose int8 hidden layers may be tanh or sigmoid ([`Lookup`]).
pub const LOOKUP_FORMAT_VERSION: u16 = 4;
/// The first version whose header carries names ([`Names`]).
pub const NAMES_FORMAT_VERSION: u16 = 3;
/// Longest column or class name, in bytes.
pub const MAX_COLUMN_NAME_LEN: usize = 64;
/// The version f32 files without names are written as: they have not changed since version 1.
pub const F32_FORMAT_VERSION: u16 = 1;
/// The version int8 files without names are written as (the version that added the kind).
pub const INT8_FORMAT_VERSION: u16 = 2;
/// Longest model name, in bytes.
pub const MAX_NAME_LEN: usize = 32;

/// CRC-32/ISO-HDLC (the one of zlib, PNG and Ethernet: reflected, polynomial 0xEDB88320,
/// initial value and final xor 0xFFFFFFFF) of `bytes`, a nibble at a time from a 16-entry
/// table: 64 bytes of table and a short loop, where a byte-wide table takes 1 KB and the
/// `crc` crate's table-free code 858 bytes of a board's flash (tested against the crate).
/// Never inlined: inlined into a caller built for speed it was unrolled (300 bytes, where
/// this loop built for size takes 70), and it runs once per load.
#[inline(never)]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        crc = (crc >> 4) ^ CRC32_NIBBLES[(crc & 15) as usize];
        crc = (crc >> 4) ^ CRC32_NIBBLES[(crc & 15) as usize];
    }
    !crc
}

/// The CRC of each 4-bit value, built at compile time.
const CRC32_NIBBLES: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 4 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// What kind of parameters a file holds.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// 32-bit float parameters (kind byte 0, format version 1 and later).
    F32,
    /// int8 weights and activations, integer requantization (kind byte 1, version 2 and later).
    Int8,
}

impl ModelKind {
    /// The kind and arithmetic of kind byte `byte` in a file of `version`.
    fn from_byte(byte: u8, version: u16) -> Result<(ModelKind, Int8Rules), Error> {
        match (byte, version) {
            (0, _) => Ok((ModelKind::F32, Int8Rules::NnCore)),
            (1, 2..) => Ok((ModelKind::Int8, Int8Rules::NnCore)),
            (2, TFLM_FORMAT_VERSION..) => Ok((ModelKind::Int8, Int8Rules::TfliteMicro)),
            (found, _) => Err(Error::UnsupportedModelKind { found }),
        }
    }

    fn to_byte(self, rules: Int8Rules) -> u8 {
        match (self, rules) {
            (ModelKind::F32, _) => 0,
            (ModelKind::Int8, Int8Rules::NnCore) => 1,
            (ModelKind::Int8, Int8Rules::TfliteMicro) => 2,
        }
    }

    /// The format version a file of this kind is written as.
    fn version(self) -> u16 {
        match self {
            ModelKind::F32 => F32_FORMAT_VERSION,
            ModelKind::Int8 => INT8_FORMAT_VERSION,
        }
    }

    /// The kind's name: `f32` or `int8`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::F32 => "f32",
            ModelKind::Int8 => "int8",
        }
    }
}

impl core::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first bytes of every version of the format (read by the `header` module).
#[derive(Serialize)]
struct Preamble {
    magic: [u8; 4],
    version: u16,
}

/// The header, as it is on the wire: the fields of version 1, then (version 3) the names.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct WireHeader<'a> {
    /// Borrowed from the file: decoding copies nothing.
    name: Name<'a>,
    kind: u8,
    layers: LayerList,
    normalized: bool,
    test_vectors: u16,
    /// Written after the rest, and only in version 3 (see `encode`).
    #[serde(skip)]
    names: Names<'a>,
}

/// The names a version-3 file carries, borrowed from its header: the input columns (one per
/// input, in input order), then the target column, then the classes (none for regression;
/// class `i` is output `i`, or for one sigmoid output, classes 0 and 1). On the wire a
/// postcard sequence of strings: a varint count, then each string's varint length and
/// UTF-8 bytes (checked when read). A file with none has count 0 (or an older version).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Names<'a> {
    /// The strings, after the count.
    bytes: &'a [u8],
    /// How many.
    count: usize,
    /// How many are input columns.
    inputs: usize,
}

impl<'a> Names<'a> {
    /// Every name in order: inputs, target, classes.
    fn all(self) -> impl Iterator<Item = &'a str> {
        header::strings(self.bytes).take(self.count)
    }

    /// The input columns' names, in input order.
    pub fn inputs(self) -> impl Iterator<Item = &'a str> {
        self.all().take(self.inputs)
    }

    /// The target column's name.
    pub fn target(self) -> &'a str {
        self.all().nth(self.inputs).unwrap_or_default()
    }

    /// The class names (none for a regression model).
    pub fn classes(self) -> impl Iterator<Item = &'a str> {
        self.all().skip(self.inputs + 1)
    }

    /// The name of class `index`, if the file names its classes.
    pub fn class(self, index: usize) -> Option<&'a str> {
        self.classes().nth(index)
    }

    /// Number of classes named.
    pub fn class_count(self) -> usize {
        self.count.saturating_sub(self.inputs + 1)
    }
}

/// A model name as a file holds it: UTF-8 bytes (checked when read, by `header`), written
/// as a postcard string.
///
/// Bytes rather than `&str` so that loading a file needs no `core::str::from_utf8` (810
/// bytes of a board's flash with its table; the reader's check takes 176): only
/// asking for the name as text does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Name<'a>(&'a [u8]);

impl<'a> Name<'a> {
    /// The name as text (always UTF-8: it was checked when read, or came from a `&str`).
    fn as_str(self) -> &'a str {
        core::str::from_utf8(self.0).unwrap_or_default()
    }
}

impl Serialize for Name<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where each section of a file lies, from its header (byte offsets from the file start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Layout {
    body: usize,
    params_start: usize,
    vectors_start: usize,
    crc_start: usize,
}

impl Layout {
    /// The layout of a file of `kind` and `version` whose preamble and header take `header_len` bytes, if
    /// the file is at most `max_len` bytes long; else `Err` with the length it would have.
    /// Sizes are summed in `u64`: a header can ask for more than a 32-bit address space.
    /// In a file of TensorFlow Lite Micro's arithmetic the normalization section holds one
    /// 256-byte table per input instead of two f32.
    fn of(
        header_len: usize,
        header: &WireHeader<'_>,
        (kind, rules): (ModelKind, Int8Rules),
        version: u16,
        max_len: usize,
    ) -> Result<Layout, u64> {
        let layers = header.layers.as_slice();
        let inputs = layers.first().map_or(0, |l| u64::from(l.inputs));
        let outputs = layers.last().map_or(0, |l| u64::from(l.outputs));
        let body = header_len.next_multiple_of(4) as u64;
        let per_input = if rules == Int8Rules::TfliteMicro { 256 } else { 8 };
        let params_start = body + if header.normalized { per_input * inputs } else { 0 };
        let vectors_start = params_start + params_bytes(kind, rules, layers, version);
        let crc_start = vectors_start + 4 * u64::from(header.test_vectors) * (inputs + outputs);
        let total = crc_start + 4;
        // Every offset is at most `total`, so at most `max_len`: the casts are exact.
        if total > max_len as u64 {
            return Err(total);
        }
        Ok(Layout {
            body: body as usize,
            params_start: params_start as usize,
            vectors_start: vectors_start as usize,
            crc_start: crc_start as usize,
        })
    }

    fn total(&self) -> usize {
        self.crc_start + 4
    }
}

/// Bytes of the parameter section of a file of `kind` and `version` with `layers` (in
/// `u64`: a header can ask for more than a 32-bit address space).
fn params_bytes(kind: ModelKind, rules: Int8Rules, layers: &[LayerSpec], version: u16) -> u64 {
    let last = layers.len().saturating_sub(1);
    let start = match kind {
        ModelKind::F32 => 0,
        ModelKind::Int8 => int8::input_section_bytes(rules),
    };
    layers.iter().enumerate().fold(start, |sum, (index, spec)| {
        sum + match kind {
            ModelKind::F32 => 4 * spec.param_count() as u64,
            ModelKind::Int8 => int8::layer_bytes(spec, index == last, version, rules),
        }
    })
}

/// `f32` values stored little-endian in bytes, read without any alignment requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct F32Bytes<'a>(&'a [u8]);

impl<'a> F32Bytes<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// True if there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<f32> {
        let start = index.checked_mul(4)?;
        let bytes = self.0.get(start..start.checked_add(4)?)?;
        Some(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Copies the values into `out` (as many as fit) and returns how many were copied.
    pub fn copy_to(&self, out: &mut [f32]) -> usize {
        out.iter_mut().zip(self.iter()).map(|(o, v)| *o = v).count()
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// Per-feature input scaling stored in a file: `x' = (x - offset) * scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Normalization<'a> {
    /// One offset per input feature.
    pub offset: F32Bytes<'a>,
    /// One scale per input feature (never zero in a valid file).
    pub scale: F32Bytes<'a>,
}

impl Normalization<'_> {
    /// Normalizes `x` in place (feature by feature, as many as both have).
    pub fn apply(&self, x: &mut [f32]) {
        normalize(x, self.offset.iter(), self.scale.iter());
    }
}

/// `x = (x - offset) * scale`, feature by feature (as many as all three have): the one
/// normalization formula, used by the board and by the trainer alike.
#[inline]
pub fn normalize(x: &mut [f32], offset: impl IntoIterator<Item = f32>, scale: impl IntoIterator<Item = f32>) {
    for ((x, offset), scale) in x.iter_mut().zip(offset).zip(scale) {
        *x = (*x - offset) * scale;
    }
}

/// A weight file whose bytes were checked: magic, version, lengths, CRC, layer chain,
/// finite values. Borrows the bytes; nothing is copied.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightFile<'a> {
    version: u16,
    header: WireHeader<'a>,
    kind: ModelKind,
    rules: Int8Rules,
    bytes: &'a [u8],
    layout: Layout,
}

impl<'a> WeightFile<'a> {
    /// Checks a weight file at the start of `bytes`. Bytes after its end are ignored (a file
    /// in a flash region is followed by whatever else the region holds); use
    /// [`WeightFile::parse_exact`] when `bytes` should be the file and nothing else.
    ///
    /// # Errors
    /// In the order checked: [`Error::BadMagic`], [`Error::UnsupportedVersion`],
    /// [`Error::Truncated`], [`Error::MalformedHeader`] and [`Error::TooManyLayers`] (a
    /// header that does not decode), [`Error::CrcMismatch`],
    /// [`Error::UnsupportedModelKind`], the layer-chain errors, [`Error::NonFinite`] and
    /// [`Error::ZeroScale`]; for int8 files [`Error::UnsupportedInt8Activation`],
    /// [`Error::NotPositive`] and [`Error::OutOfRange`] for quantization values.
    pub fn parse(bytes: &'a [u8]) -> Result<WeightFile<'a>, Error> {
        // Filled in place: on a board, moving the header between temporaries cost flash.
        let mut parsed = WeightFile {
            version: 0,
            header: WireHeader::default(),
            kind: ModelKind::F32,
            rules: Int8Rules::NnCore,
            bytes,
            layout: Layout::default(),
        };
        let (version, header_len) = header::read(bytes, &mut parsed.header)?;
        parsed.version = version;
        let header = &parsed.header;
        // An unknown kind is reported after the CRC (a corrupt byte is more likely).
        let kind = ModelKind::from_byte(header.kind, version);
        let kind_or_f32 = *kind.as_ref().unwrap_or(&(ModelKind::F32, Int8Rules::NnCore));
        let layout = Layout::of(header_len, header, kind_or_f32, version, bytes.len()).map_err(|total| {
            Error::Truncated {
                len: bytes.len(),
                needed: Some(usize::try_from(total).unwrap_or(usize::MAX)),
            }
        })?;
        let truncated = Error::Truncated {
            len: bytes.len(),
            needed: Some(layout.total()),
        };
        let file = bytes.get(..layout.total()).ok_or(truncated.clone())?;
        // The file ends with its CRC.
        let (body, stored) = file.split_last_chunk::<4>().ok_or(truncated)?;
        let stored = u32::from_le_bytes(*stored);
        let computed = crc32(body);
        if stored != computed {
            return Err(Error::CrcMismatch { stored, computed });
        }
        let (kind, rules) = kind?;
        if kind == ModelKind::Int8 && !cfg!(feature = "int8") {
            // A known kind whose reader this build left out: its length and CRC were checked.
            return Err(Error::UnsupportedModelKind { found: header.kind });
        }
        check_layer_chain(header.layers.as_slice())?;
        parsed.kind = kind;
        parsed.rules = rules;
        parsed.bytes = file;
        parsed.layout = layout;
        parsed.check_values()?;
        Ok(parsed)
    }

    /// Like [`WeightFile::parse`], and `bytes` must end where the file ends.
    ///
    /// # Errors
    /// Those of [`WeightFile::parse`], and [`Error::TrailingBytes`].
    pub fn parse_exact(bytes: &'a [u8]) -> Result<WeightFile<'a>, Error> {
        let file = WeightFile::parse(bytes)?;
        if file.len() != bytes.len() {
            return Err(Error::TrailingBytes {
                len: bytes.len(),
                file_len: file.len(),
            });
        }
        Ok(file)
    }

    /// Length of the file in bytes, CRC included.
    #[allow(clippy::len_without_is_empty)] // a weight file is never empty
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The file's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The file's format version (1 to [`FORMAT_VERSION`]).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The model's name (borrowed from the file's bytes).
    pub fn name(&self) -> &'a str {
        self.header.name.as_str()
    }

    /// The names of the input columns, the target and the classes, if the file has them
    /// (format version 3; older files are matched to data by position).
    /// `None` too in a build without nn-core's `names` feature.
    pub fn names(&self) -> Option<Names<'a>> {
        (self.header.names.count > 0).then_some(self.header.names)
    }

    /// The model kind.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &LayerList {
        &self.header.layers
    }

    /// Number of inputs of the network.
    pub fn input_len(&self) -> usize {
        self.header
            .layers
            .as_slice()
            .first()
            .map_or(0, |l| usize::from(l.inputs))
    }

    /// Number of outputs of the network.
    pub fn output_len(&self) -> usize {
        self.header
            .layers
            .as_slice()
            .last()
            .map_or(0, |l| usize::from(l.outputs))
    }

    /// The CRC-32 stored at the end of the file.
    pub fn crc(&self) -> u32 {
        // A parsed file is at least its 4-byte CRC long.
        self.bytes.last_chunk::<4>().map_or(0, |b| u32::from_le_bytes(*b))
    }

    /// The arithmetic of an int8 file ([`Int8Rules::NnCore`] for an f32 file).
    pub fn int8_rules(&self) -> Int8Rules {
        self.rules
    }

    /// The input normalization, if the file has one (never in a file of TensorFlow Lite
    /// Micro's arithmetic, whose section holds input tables instead: see
    /// [`Int8Model::input_tables`]).
    pub fn normalization(&self) -> Option<Normalization<'a>> {
        if !self.header.normalized || self.rules == Int8Rules::TfliteMicro {
            return None;
        }
        let section = self.bytes.get(self.layout.body..self.layout.params_start)?;
        let (offset, scale) = section.split_at_checked(self.input_len() * 4)?;
        Some(Normalization {
            offset: F32Bytes(offset),
            scale: F32Bytes(scale),
        })
    }

    /// All parameters, layer after layer (weights then bias), of an f32 file (for an int8
    /// file, its parameter section's bytes read as f32: see [`WeightFile::int8_model`]).
    pub fn params(&self) -> F32Bytes<'a> {
        F32Bytes(
            self.bytes
                .get(self.layout.params_start..self.layout.vectors_start)
                .unwrap_or_default(),
        )
    }

    /// Number of test vectors.
    pub fn test_vector_count(&self) -> usize {
        usize::from(self.header.test_vectors)
    }

    /// Test vector `index`: the raw (not normalized) input and the expected output.
    pub fn test_vector(&self, index: usize) -> Option<(F32Bytes<'a>, F32Bytes<'a>)> {
        if index >= self.test_vector_count() {
            return None;
        }
        let (inputs, outputs) = (self.input_len() * 4, self.output_len() * 4);
        let start = self.layout.vectors_start + index * (inputs + outputs);
        let vector = self.bytes.get(start..start + inputs + outputs)?;
        let (input, output) = vector.split_at_checked(inputs)?;
        Some((F32Bytes(input), F32Bytes(output)))
    }

    /// [`Error::WrongModelKind`] unless the file is of `kind`.
    pub(crate) fn expect_kind(&self, expected: ModelKind) -> Result<(), Error> {
        if self.kind == expected {
            Ok(())
        } else {
            Err(Error::WrongModelKind {
                found: self.kind,
                expected,
            })
        }
    }

    /// The f32 network as slices borrowed from the file, with run-time shapes (the run-time
    /// path of [`crate::runtime`]; a typed network borrows with
    /// [`WeightFile::borrow_network`]).
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an int8 file; [`Error::Misaligned`] if the file does not
    /// start at a 4-byte aligned address.
    pub fn f32_model(&self) -> Result<crate::runtime::F32Model<'a>, Error> {
        let mut params = self.f32_params()?;
        let mut layers = heapless::Vec::new();
        for &spec in self.header.layers.as_slice() {
            // The parameter section holds exactly these layers (checked by `parse`).
            let (weights, rest) = params
                .split_at_checked(spec.weight_count())
                .ok_or(self.misaligned())?;
            let (bias, rest) = rest
                .split_at_checked(usize::from(spec.outputs))
                .ok_or(self.misaligned())?;
            params = rest;
            layers
                .push(crate::LayerParams { spec, weights, bias })
                .map_err(|_| Error::TooManyLayers {
                    count: self.header.layers.as_slice().len(),
                })?;
        }
        Ok(crate::runtime::F32Model { layers })
    }

    /// The f32 parameter section as `f32` values, borrowed in place.
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an int8 file; [`Error::Misaligned`] if the file does not
    /// start at a 4-byte aligned address.
    pub(crate) fn f32_params(&self) -> Result<&'a [f32], Error> {
        self.expect_kind(ModelKind::F32)?;
        bytemuck::try_cast_slice(self.params().as_bytes()).map_err(|_| self.misaligned())
    }

    /// [`Error::Misaligned`] for the parameter section's address.
    pub(crate) fn misaligned(&self) -> Error {
        Error::Misaligned {
            address: self.params().as_bytes().as_ptr() as usize,
        }
    }

    /// The widest input or output of any layer: the units per buffer the run-time path
    /// ([`crate::runtime::Scratch`]) needs for this file.
    pub fn widest_layer(&self) -> usize {
        self.header.layers.widest()
    }

    /// The int8 parameter section, or `None` for an f32 file.
    fn int8_raw(&self) -> Option<int8::RawModel<'a>> {
        if self.kind != ModelKind::Int8 {
            return None;
        }
        int8::RawModel::split(
            self.bytes
                .get(self.layout.params_start..self.layout.vectors_start)?,
            self.version,
            self.rules,
        )
    }

    /// A file of TensorFlow Lite Micro's arithmetic: its input tables, if it has them.
    fn input_tables(&self) -> Option<&'a [i8]> {
        if !self.header.normalized || self.rules != Int8Rules::TfliteMicro {
            return None;
        }
        let section = self.bytes.get(self.layout.body..self.layout.params_start)?;
        Some(bytemuck::cast_slice(section))
    }

    /// The int8 network as slices borrowed from the file (for run-time shapes, e.g. on the
    /// host; a board borrows a typed network with [`WeightFile::borrow_int8`]).
    ///
    /// # Errors
    /// [`Error::WrongModelKind`] for an f32 file; [`Error::Misaligned`] if the file does not
    /// start at a 4-byte aligned address.
    pub fn int8_model(&self) -> Result<Int8Model<'a>, Error> {
        let mut model = self
            .int8_raw()
            .ok_or(Error::WrongModelKind {
                found: self.kind,
                expected: ModelKind::Int8,
            })?
            .borrow(self.header.layers.as_slice())?;
        model.input_tables = self.input_tables();
        Ok(model)
    }

    /// Checks that every stored number is finite and every scale non-zero.
    fn check_values(&self) -> Result<(), Error> {
        // Every f32 of the body in one pass (normalization, f32 parameters, test vectors); the
        // place of a bad one is worked out only when there is one.
        let params_end = match (self.kind, self.rules) {
            (ModelKind::F32, _) => self.layout.vectors_start,
            // The normalization section holds int8 tables.
            (_, Int8Rules::TfliteMicro) => self.layout.body,
            _ => self.layout.params_start,
        };
        let sections = [
            self.layout.body..params_end,
            self.layout.vectors_start..self.layout.crc_start,
        ];
        for section in sections {
            let start = section.start;
            let values = F32Bytes(self.bytes.get(section).unwrap_or_default());
            check_finite(values.iter(), |k| self.locate(start + 4 * k))?;
        }
        if let Some(norm) = self.normalization()
            && let Some(feature) = norm.scale.iter().position(|s| s == 0.0)
        {
            return Err(Error::ZeroScale { feature });
        }
        #[cfg(feature = "int8")]
        if self.kind == ModelKind::Int8 {
            self.int8_raw()
                .ok_or(Error::Truncated {
                    len: self.bytes.len(),
                    needed: Some(self.layout.total()),
                })?
                .check(self.header.layers.as_slice())?;
        }
        Ok(())
    }

    /// What the f32 at byte `offset` of the body is (normalization, f32 parameter, or test
    /// vector value).
    #[cold]
    fn locate(&self, offset: usize) -> Location {
        let (inputs, outputs) = (self.input_len(), self.output_len());
        if offset < self.layout.params_start {
            let feature = (offset - self.layout.body) / 4;
            return match feature.checked_sub(inputs) {
                None => Location::NormalizationOffset { feature },
                Some(feature) => Location::NormalizationScale { feature },
            };
        }
        if offset >= self.layout.vectors_start {
            let index = (offset - self.layout.vectors_start) / 4;
            // Never zero in a checked file (no layer is empty); `max` spares a panic path.
            let per_vector = (inputs + outputs).max(1);
            let (vector, index) = (index / per_vector, index % per_vector);
            return match index.checked_sub(inputs) {
                None => Location::TestInput { vector, index },
                Some(index) => Location::TestOutput { vector, index },
            };
        }
        let mut index = (offset - self.layout.params_start) / 4;
        for (layer, spec) in self.header.layers.as_slice().iter().enumerate() {
            if index < spec.weight_count() {
                return Location::Weight { layer, index };
            }
            index -= spec.weight_count();
            if index < usize::from(spec.outputs) {
                return Location::Bias { layer, index };
            }
            index -= usize::from(spec.outputs);
        }
        Location::Weight { layer: 0, index }
    }
}

/// The first value of `values` that is not finite, as an error at `location(index)`.
fn check_finite(
    values: impl IntoIterator<Item = f32>,
    location: impl Fn(usize) -> Location,
) -> Result<(), Error> {
    for (index, value) in values.into_iter().enumerate() {
        if let Some(value) = NonFiniteValue::of(value) {
            return Err(Error::NonFinite {
                location: location(index),
                value,
            });
        }
    }
    Ok(())
}

/// Checks that a layer list can be a network in a weight file: 1 to
/// [`MAX_LAYERS`](crate::MAX_LAYERS) layers, none empty, each feeding the next.
///
/// # Errors
/// [`Error::NoLayers`], [`Error::TooManyLayers`], [`Error::EmptyLayer`],
/// [`Error::LayersDisconnected`].
pub fn check_layer_chain(layers: &[LayerSpec]) -> Result<(), Error> {
    if layers.is_empty() {
        return Err(Error::NoLayers);
    }
    if layers.len() > crate::MAX_LAYERS {
        return Err(Error::TooManyLayers { count: layers.len() });
    }
    if let Some(layer) = layers.iter().position(|l| l.inputs == 0 || l.outputs == 0) {
        return Err(Error::EmptyLayer { layer });
    }
    for (layer, pair) in layers.windows(2).enumerate() {
        if pair[0].outputs != pair[1].inputs {
            return Err(Error::LayersDisconnected {
                layer,
                outputs: pair[0].outputs,
                next_inputs: pair[1].inputs,
            });
        }
    }
    Ok(())
}
