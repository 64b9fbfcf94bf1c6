//! Reads a file's preamble and header: postcard's encoding of [`Preamble`] and
//! [`WireHeader`], decoded by hand.
//!
//! The encoder writes them with postcard and serde; this reader decodes the same bytes the
//! way postcard 1.x does (LEB128 varints with postcard's overflow rule, bools as 0 or 1,
//! enums as a varint variant index, strings and sequences as a varint length then the items),
//! in about 0.7 KB of a board's flash where serde's generated decoder and
//! `core::str::from_utf8` took about 2.3: the loader is meant to fit in 4 KB. A unit test
//! holds the two decoders to the same answers on valid headers and on random corruptions of
//! them.

use super::{
    Error, FORMAT_VERSION, MAGIC, MAX_COLUMN_NAME_LEN, MAX_NAME_LEN, NAMES_FORMAT_VERSION, Name, Names,
    WireHeader,
};
use crate::activation::Activation;
use crate::view::{LayerSpec, MAX_LAYERS};

/// Why a header does not decode.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The bytes end inside the header.
    Truncated,
    /// A value is not one the header can hold: why.
    Malformed(&'static str),
    /// More layers than [`MAX_LAYERS`].
    TooManyLayers(usize),
    /// The first four bytes are not [`MAGIC`].
    BadMagic([u8; 4]),
    /// A format version this build does not read.
    UnsupportedVersion(u16),
}

impl Fault {
    fn into_error(self, file_len: usize) -> Error {
        match self {
            Fault::Truncated => Error::Truncated {
                len: file_len,
                needed: None,
            },
            Fault::Malformed(reason) => Error::MalformedHeader { reason },
            Fault::TooManyLayers(count) => Error::TooManyLayers { count },
            Fault::BadMagic(found) => Error::BadMagic { found },
            Fault::UnsupportedVersion(found) => Error::UnsupportedVersion { found },
        }
    }
}

/// A position in the bytes being decoded, and why decoding stopped if it did.
///
/// Reads return `Option` and leave the reason in `fault`: an `Option` of a field comes back
/// in registers, where a `Result` carrying the reason went through memory at every field
/// (132 bytes more of a board's flash, measured).
struct Reader<'a> {
    bytes: &'a [u8],
    fault: Fault,
}

impl<'a> Reader<'a> {
    /// `None`, having noted `fault` as the reason.
    fn fail<T>(&mut self, fault: Fault) -> Option<T> {
        self.fault = fault;
        None
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let Some((taken, rest)) = self.bytes.split_at_checked(n) else {
            return self.fail(Fault::Truncated);
        };
        self.bytes = rest;
        Some(taken)
    }

    /// The next byte.
    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A LEB128 varint of an unsigned integer of `bits` bits (16 or 32), as postcard reads
    /// it: seven bits a byte, low first, while the top bit is set; a byte may not carry bits
    /// beyond `bits`, and the value must end within them. Not inlined: one copy serves every
    /// field (inlined with constant widths, the compiler unrolls it into each).
    #[inline(never)]
    fn varint(&mut self, bits: u32) -> Option<u32> {
        let mut value = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            let payload = u32::from(byte & 0x7F);
            if shift + 7 > bits && payload >> (bits - shift) != 0 {
                break;
            }
            value |= payload << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
            if shift >= bits {
                break;
            }
        }
        self.fail(Fault::Malformed("bad varint"))
    }

    fn u16(&mut self) -> Option<u16> {
        // `varint(16)` never returns more than 16 bits.
        self.varint(16).map(|v| v as u16)
    }

    /// A length or an enum variant index (postcard writes `usize` and `u32` alike).
    fn index(&mut self) -> Option<usize> {
        self.varint(32).map(|v| v as usize)
    }

    /// A string of at most `max` bytes of UTF-8: a varint length, then the bytes. Not
    /// inlined: one copy serves the model's name and every column name.
    #[inline(never)]
    fn string(&mut self, max: usize) -> Option<&'a [u8]> {
        let len = self.index()?;
        if len > max {
            return self.fail(Fault::Malformed("name over 32 bytes (64: columns)"));
        }
        let text = self.take(len)?;
        if !is_utf8(text) {
            return self.fail(Fault::Malformed("name not UTF-8"));
        }
        Some(text)
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => self.fail(Fault::Malformed("bad bool")),
        }
    }

    fn layer(&mut self) -> Option<LayerSpec> {
        let inputs = self.u16()?;
        let outputs = self.u16()?;
        let index = self.index()?;
        let Some(&activation) = Activation::ALL.get(index) else {
            return self.fail(Fault::Malformed("unknown activation"));
        };
        Some(LayerSpec {
            inputs,
            outputs,
            activation,
        })
    }
}

/// Decodes the preamble then the header at the start of `bytes` (a whole file) into
/// `header`: returns the format version and the number of bytes both took.
///
/// # Errors
/// [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::Truncated`],
/// [`Error::MalformedHeader`], [`Error::TooManyLayers`].
pub(super) fn read<'a>(bytes: &'a [u8], header: &mut WireHeader<'a>) -> Result<(u16, usize), Error> {
    let mut reader = Reader {
        bytes,
        fault: Fault::Truncated,
    };
    read_header(&mut reader, header)
        .map(|version| (version, bytes.len() - reader.bytes.len()))
        .ok_or_else(|| reader.fault.into_error(bytes.len()))
}

/// [`read`], returning the version, or `None` with the reason in `reader.fault`.
fn read_header<'a>(reader: &mut Reader<'a>, header: &mut WireHeader<'a>) -> Option<u16> {
    let magic = reader.take(4)?;
    if magic != MAGIC {
        return reader.fail(Fault::BadMagic([magic[0], magic[1], magic[2], magic[3]]));
    }
    let version = reader.u16()?;
    if !(1..=FORMAT_VERSION).contains(&version) {
        return reader.fail(Fault::UnsupportedVersion(version));
    }
    let name = reader.string(MAX_NAME_LEN)?;
    let kind = reader.byte()?;
    let count = reader.index()?;
    if count > MAX_LAYERS {
        return reader.fail(Fault::TooManyLayers(count));
    }
    header.name = Name(name);
    header.kind = kind;
    read_layers(reader, &mut header.layers.0, count)?;
    header.normalized = reader.bool()?;
    header.test_vectors = reader.u16()?;
    header.names = Names::default();
    if version >= NAMES_FORMAT_VERSION {
        if cfg!(feature = "names") {
            header.names = read_names(reader, &header.layers.0)?;
        } else {
            skip_names(reader)?;
        }
    }
    Some(version)
}

/// `count` layers (at most [`MAX_LAYERS`]) into `layers`. Not inlined: inlined into the header
/// reader, the loop was unrolled eight times (600 bytes of a board's flash).
#[inline(never)]
fn read_layers(
    reader: &mut Reader<'_>,
    layers: &mut heapless::Vec<LayerSpec, MAX_LAYERS>,
    count: usize,
) -> Option<()> {
    layers.clear();
    for _ in 0..count {
        // Cannot fail: `count` is at most the capacity.
        let _ = layers.push(reader.layer()?);
    }
    Some(())
}

/// The names section of a version-3 header for `layers`: each name checked (length,
/// UTF-8), and their number (none, or one per input, the target, and no class or two or
/// more, at most one per output; two for a single output). Not inlined: inlined into the
/// header reader it cost a board 700 bytes of flash, where this is about 150.
#[inline(never)]
fn read_names<'a>(reader: &mut Reader<'a>, layers: &[LayerSpec]) -> Option<Names<'a>> {
    let inputs = layers.first().map_or(0, |l| usize::from(l.inputs));
    let outputs = layers.last().map_or(0, |l| usize::from(l.outputs));
    let count = reader.index()?;
    let classes = count.wrapping_sub(inputs + 1);
    if count != 0 && (count <= inputs || classes == 1 || classes > outputs.max(2)) {
        return reader.fail(Fault::Malformed("the names do not fit the layers"));
    }
    let start = reader.bytes;
    for _ in 0..count {
        reader.string(MAX_COLUMN_NAME_LEN)?;
    }
    Some(Names {
        bytes: start.get(..start.len() - reader.bytes.len()).unwrap_or_default(),
        count,
        inputs,
    })
}

/// Steps over a names section, each name checked as a name (a build without nn-core's
/// `names` feature never reads them).
fn skip_names(reader: &mut Reader<'_>) -> Option<()> {
    for _ in 0..reader.index()? {
        reader.string(MAX_COLUMN_NAME_LEN)?;
    }
    Some(())
}

/// The strings of a names section (each a varint length and its bytes, checked when the
/// header was read), in order.
pub(super) fn strings(bytes: &[u8]) -> impl Iterator<Item = &str> {
    let mut reader = Reader {
        bytes,
        fault: Fault::Truncated,
    };
    core::iter::from_fn(move || {
        let text = reader.string(usize::MAX)?;
        // Checked when the header was read.
        core::str::from_utf8(text).ok()
    })
}

/// True if `bytes` is well-formed UTF-8: exactly what `core::str::from_utf8` accepts
/// (shortest encodings only, no surrogates, nothing above U+10FFFF), in a loop a fifth of
/// its size with its table (176 bytes against 810 on a Cortex-M4), as speed does not matter
/// for a name of at most 32 bytes.
fn is_utf8(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some((&lead, tail)) = rest.split_first() {
        rest = tail;
        if lead < 0x80 {
            continue;
        }
        // Continuation bytes that follow this lead byte, and the least code point that needs
        // that many (anything less is an overlong encoding).
        let (continuations, least) = match lead {
            0xC0..=0xDF => (1, 0x80),
            0xE0..=0xEF => (2, 0x800),
            0xF0..=0xF7 => (3, 0x1_0000),
            _ => return false,
        };
        let mut code = u32::from(lead) & (0x3F >> continuations);
        for _ in 0..continuations {
            match rest.split_first() {
                Some((&byte, tail)) if byte & 0xC0 == 0x80 => {
                    code = code << 6 | u32::from(byte & 0x3F);
                    rest = tail;
                }
                _ => return false,
            }
        }
        if code < least || code > 0x10_FFFF || (0xD800..=0xDFFF).contains(&code) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    extern crate std;

    use serde::{Deserialize, Serialize};
    use std::vec::Vec;

    use super::*;

    /// The preamble and header as serde and postcard decode them: the reference the hand
    /// reader is held to.
    #[derive(Deserialize)]
    struct ReferencePreamble {
        magic: [u8; 4],
        version: u16,
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct ReferenceHeader<'a> {
        name: &'a str,
        kind: u8,
        layers: heapless::Vec<LayerSpec, MAX_LAYERS>,
        normalized: bool,
        test_vectors: u16,
    }

    /// What postcard makes of `bytes`: the version, header, names (version 3) and length,
    /// or `None` where the reader must refuse them.
    fn reference(bytes: &[u8]) -> Option<(u16, ReferenceHeader<'_>, Vec<&str>, usize)> {
        let (preamble, rest) = postcard::take_from_bytes::<ReferencePreamble>(bytes).ok()?;
        if preamble.magic != MAGIC || !(1..=FORMAT_VERSION).contains(&preamble.version) {
            return None;
        }
        let (header, mut rest) = postcard::take_from_bytes::<ReferenceHeader>(rest).ok()?;
        let mut names = Vec::new();
        if preamble.version >= NAMES_FORMAT_VERSION {
            (names, rest) = postcard::take_from_bytes::<Vec<&str>>(rest).ok()?;
        }
        let fits = header.name.len() <= MAX_NAME_LEN && names.iter().all(|n| n.len() <= MAX_COLUMN_NAME_LEN);
        // The names' number against the layers (checked by the reader with the names feature).
        let inputs = header.layers.first().map_or(0, |l| usize::from(l.inputs));
        let outputs = header.layers.last().map_or(0, |l| usize::from(l.outputs));
        let classes = names.len().wrapping_sub(inputs + 1);
        let count_fits =
            names.is_empty() || (names.len() > inputs && classes != 1 && classes <= outputs.max(2));
        let fits = fits && (count_fits || !cfg!(feature = "names"));
        if !cfg!(feature = "names") {
            names.clear();
        }
        fits.then_some((preamble.version, header, names, bytes.len() - rest.len()))
    }

    /// [`read`] into a new header.
    fn read_new(bytes: &[u8]) -> Result<(u16, WireHeader<'_>, usize), Error> {
        let mut header = WireHeader::default();
        let (version, len) = read(bytes, &mut header)?;
        Ok((version, header, len))
    }

    /// Both decoders accept the same bytes and agree on what they hold.
    fn assert_agree(bytes: &[u8]) {
        match (read_new(bytes), reference(bytes)) {
            (Ok((version, header, len)), Some((ref_version, reference, names, ref_len))) => {
                assert_eq!(header.names.all().collect::<Vec<_>>(), names, "{bytes:02x?}");
                assert_eq!(version, ref_version, "{bytes:02x?}");
                assert_eq!(len, ref_len, "{bytes:02x?}");
                assert_eq!(header.name.as_str(), reference.name, "{bytes:02x?}");
                assert_eq!(header.kind, reference.kind, "{bytes:02x?}");
                assert_eq!(header.layers.0, reference.layers, "{bytes:02x?}");
                assert_eq!(header.normalized, reference.normalized, "{bytes:02x?}");
                assert_eq!(header.test_vectors, reference.test_vectors, "{bytes:02x?}");
            }
            (Err(_), None) => {}
            (mine, reference) => panic!(
                "{bytes:02x?}: the reader says {:?}, postcard {:?}",
                mine, reference
            ),
        }
    }

    /// `value` as postcard writes it.
    fn to_bytes(value: &impl Serialize) -> Vec<u8> {
        let mut buffer = [0u8; 2048];
        postcard::to_slice(value, &mut buffer)
            .expect("a header fits in 2048 bytes")
            .to_vec()
    }

    /// A small deterministic generator (xorshift32).
    struct Random(u32);

    impl Random {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }

        fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }

    /// A preamble and header as the encoder writes them, with varied names, layers and
    /// counts (values of one, two and three varint bytes).
    fn encoded(random: &mut Random) -> Vec<u8> {
        const NAMES: [&str; 5] = [
            "",
            "sine",
            "digits-64-32-10",
            "é→∑ 𝄞",
            "abcdefghijklmnopqrstuvwxyz012345",
        ];
        const WIDTHS: [u16; 6] = [0, 1, 127, 128, 16_383, u16::MAX];
        let mut layers = heapless::Vec::new();
        for _ in 0..random.below(MAX_LAYERS as u32 + 1) {
            let width = |r: &mut Random| WIDTHS[r.below(6) as usize];
            let spec = LayerSpec {
                inputs: width(random),
                outputs: width(random),
                activation: Activation::ALL[random.below(6) as usize],
            };
            layers.push(spec).expect("at most MAX_LAYERS layers");
        }
        let header = ReferenceHeader {
            name: NAMES[random.below(5) as usize],
            kind: random.below(3) as u8,
            layers,
            normalized: random.below(2) == 1,
            test_vectors: WIDTHS[random.below(6) as usize],
        };
        let version = 1 + random.below(u32::from(FORMAT_VERSION)) as u16;
        let mut bytes = to_bytes(&super::super::Preamble {
            magic: MAGIC,
            version,
        });
        bytes.extend(to_bytes(&header));
        if version >= NAMES_FORMAT_VERSION {
            // Mostly names that fit the layers (one per input, the target, 0 or 2 classes),
            // some that do not.
            let inputs = header.layers.first().map_or(0, |l| usize::from(l.inputs)).min(40);
            let count = match random.below(4) {
                0 => 0,
                1 => inputs + 1,
                2 => inputs + 3,
                _ => random.below(4) as usize,
            };
            let names: Vec<&str> = (0..count).map(|_| NAMES[random.below(5) as usize]).collect();
            bytes.extend(to_bytes(&names));
        }
        bytes
    }

    #[test]
    fn reads_what_postcard_reads() {
        let mut random = Random(0x9E37_79B9);
        let mut read = 0;
        for _ in 0..2_000 {
            // Valid but for names that do not fit the layers, now and then.
            let valid = encoded(&mut random);
            read += usize::from(read_new(&valid).is_ok());
            assert_agree(&valid);
            // Every truncation, and file bytes after the header.
            for end in 0..valid.len() {
                assert_agree(&valid[..end]);
            }
            let mut longer = valid.clone();
            longer.extend([0xFF, 0x00, 0x80]);
            assert_agree(&longer);
            // Every byte replaced by a random value, and by the values at varint, bool and
            // enum boundaries.
            for at in 0..valid.len() {
                let mut corrupt = valid.clone();
                for value in [
                    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0F, 0x10, 0x7F, 0x80, 0x81, 0xC3, 0xE2,
                    0xF0, 0xFF,
                ]
                .into_iter()
                .chain([random.next() as u8])
                {
                    corrupt[at] = value;
                    assert_agree(&corrupt);
                }
            }
        }
        // About a quarter of the version-3-and-later headers have names that do not fit.
        assert!(read > 1_400, "{read} of 2,000 generated headers read");
    }

    #[test]
    fn refuses_more_layers_than_a_file_holds() {
        let mut bytes = to_bytes(&super::super::Preamble {
            magic: MAGIC,
            version: 1,
        });
        bytes.extend([0, 0, MAX_LAYERS as u8 + 1]);
        bytes.extend([1, 1, 0].repeat(MAX_LAYERS + 1));
        bytes.extend([0, 0]);
        assert!(matches!(read_new(&bytes), Err(Error::TooManyLayers { count: 9 })));
        assert_agree(&bytes);
    }

    /// Every sequence of one to three bytes, and every four-byte one whose lead byte starts
    /// a four-byte sequence (with continuation bytes at their boundaries): the same verdict
    /// as `core::str::from_utf8`.
    #[test]
    fn utf8_check_agrees_with_core() {
        let agree = |bytes: &[u8]| {
            assert_eq!(
                is_utf8(bytes),
                core::str::from_utf8(bytes).is_ok(),
                "{bytes:02x?}"
            )
        };
        for a in 0..=255u8 {
            agree(&[a]);
            for b in 0..=255u8 {
                agree(&[a, b]);
                for c in 0..=255u8 {
                    agree(&[a, b, c]);
                }
            }
        }
        const EDGES: [u8; 10] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0];
        for a in 0xF0..=0xFFu8 {
            for b in 0..=255u8 {
                for c in EDGES {
                    for d in EDGES {
                        agree(&[a, b, c, d]);
                    }
                }
            }
        }
        let mut random = Random(7);
        for _ in 0..200_000 {
            let len = random.below(9) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
            agree(&bytes);
        }
    }
}
