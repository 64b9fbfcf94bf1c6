//! Keeping a weight file in NOR flash so that a power cut never leaves the board without a
//! valid model: two slots, each a weight file followed by a commit record written last.
//!
//! ```text
//! slot i at i * slot_size:  weight file bytes ... | commit record (last 16 bytes of the slot)
//! commit record:            magic "NNWS" | sequence u32 LE | file length u32 LE | !sequence u32 LE
//! ```
//! A slot is valid when its record is complete (magic, length that fits, sequence and its
//! complement agree) and its file passes [`WeightFile::parse_exact`] (CRC included). Loading
//! takes the valid slot with the highest sequence. Saving erases the *other* slot, writes the
//! file, and only then the record: a cut before the record leaves that slot invalid and the
//! old one intact; a cut after it leaves the new one valid. Works with any driver
//! implementing `embedded-storage`'s [`NorFlash`].

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

use crate::format::{Error, WeightFile};

/// Magic of a commit record.
pub const RECORD_MAGIC: [u8; 4] = *b"NNWS";
/// Bytes of a commit record.
pub const RECORD_LEN: usize = 16;
/// The largest flash write unit supported (`NorFlash::WRITE_SIZE`).
pub const MAX_WRITE_SIZE: usize = 64;

/// Two weight-file slots in a flash, at offsets 0 and `slot_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotStore {
    /// Bytes per slot: a multiple of the flash's erase size, holding a file and a record.
    pub slot_size: u32,
}

/// Where the model in use came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Slot index (0 or 1).
    pub slot: u32,
    /// The slot's sequence number (higher is newer).
    pub sequence: u32,
    /// Length of the weight file in bytes.
    pub len: usize,
}

fn flash_error<E: NorFlashError>(error: E) -> Error {
    Error::Flash(error.kind())
}

impl SlotStore {
    fn record_offset(&self, slot: u32) -> u32 {
        slot * self.slot_size + self.slot_size - RECORD_LEN as u32
    }

    /// Reads slot `slot` into `buf` and checks it; the commit's (sequence, length) if valid.
    fn check_slot<F: ReadNorFlash>(
        &self,
        flash: &mut F,
        slot: u32,
        buf: &mut [u8],
    ) -> Result<Option<(u32, usize)>, Error> {
        let mut record = [0u8; RECORD_LEN];
        flash
            .read(self.record_offset(slot), &mut record)
            .map_err(flash_error)?;
        let word = |i: usize| u32::from_le_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]);
        let (sequence, len, check) = (word(4), word(8) as usize, word(12));
        if record[..4] != RECORD_MAGIC || check != !sequence || len > self.slot_size as usize - RECORD_LEN {
            return Ok(None);
        }
        let available = buf.len();
        let file = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        flash.read(slot * self.slot_size, file).map_err(flash_error)?;
        Ok(WeightFile::parse_exact(file).is_ok().then_some((sequence, len)))
    }

    /// The newest valid slot, its file read into `buf` (at least `slot_size` bytes).
    ///
    /// # Errors
    /// [`Error::NoValidModel`] if neither slot holds a valid file; [`Error::Flash`] if the
    /// flash fails; [`Error::BufferTooSmall`].
    pub fn load<F: ReadNorFlash>(&self, flash: &mut F, buf: &mut [u8]) -> Result<Loaded, Error> {
        let a = self.check_slot(flash, 0, buf)?;
        let b = self.check_slot(flash, 1, buf)?;
        let slot = match (a, b) {
            (Some((sa, _)), Some((sb, _))) => u32::from(sb > sa),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return Err(Error::NoValidModel),
        };
        let (sequence, len) = self.check_slot(flash, slot, buf)?.ok_or(Error::NoValidModel)?;
        Ok(Loaded { slot, sequence, len })
    }

    /// Saves `file` (a weight file) as the newest model, into the slot not holding the
    /// current one; `scratch` (at least `slot_size` bytes) is used to find it. Returns where
    /// it went.
    ///
    /// # Errors
    /// [`Error::TooLargeForSlot`]; the file's own errors if it is not a valid weight file;
    /// [`Error::Flash`] (also for a write size over [`MAX_WRITE_SIZE`]); [`Error::BufferTooSmall`].
    pub fn save<F: NorFlash>(&self, flash: &mut F, file: &[u8], scratch: &mut [u8]) -> Result<Loaded, Error> {
        WeightFile::parse_exact(file)?;
        let room = self.slot_size as usize - RECORD_LEN;
        if file.len() > room {
            return Err(Error::TooLargeForSlot {
                len: file.len(),
                slot: room,
            });
        }
        let unit = F::WRITE_SIZE.max(1);
        if unit > MAX_WRITE_SIZE || !RECORD_LEN.is_multiple_of(unit) {
            return Err(Error::Flash(NorFlashErrorKind::NotAligned));
        }
        let (slot, sequence) = match self.load(flash, scratch) {
            Ok(current) => (1 - current.slot, current.sequence.wrapping_add(1)),
            Err(Error::NoValidModel) => (0, 1),
            Err(error) => return Err(error),
        };
        let start = slot * self.slot_size;
        flash.erase(start, start + self.slot_size).map_err(flash_error)?;
        let whole = file.len() / unit * unit;
        let (body, rest) = file.split_at(whole);
        if !body.is_empty() {
            flash.write(start, body).map_err(flash_error)?;
        }
        if !rest.is_empty() {
            // The last partial unit, padded with erased bytes.
            let mut tail = [0xFFu8; MAX_WRITE_SIZE];
            tail[..rest.len()].copy_from_slice(rest);
            flash
                .write(start + whole as u32, &tail[..unit])
                .map_err(flash_error)?;
        }
        let mut record = [0u8; RECORD_LEN];
        record[..4].copy_from_slice(&RECORD_MAGIC);
        record[4..8].copy_from_slice(&sequence.to_le_bytes());
        record[8..12].copy_from_slice(&(file.len() as u32).to_le_bytes());
        record[12..].copy_from_slice(&(!sequence).to_le_bytes());
        flash
            .write(self.record_offset(slot), &record)
            .map_err(flash_error)?;
        Ok(Loaded {
            slot,
            sequence,
            len: file.len(),
        })
    }
}
