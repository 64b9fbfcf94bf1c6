//! Saving a weight file to NOR flash in two slots: a power cut at any point of a save leaves
//! a valid model (the old or the new), on a simulated flash.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use nn_core::store::{Loaded, SlotStore};
use nn_core::{Dense, Identity, Init, Metadata, Relu, Trainable, WeightFile, encode, encoded_len, network};

type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];

/// NOR flash in RAM: erase sets 0xFF per sector, writes can only clear bits. After
/// `budget` operations (a sector erase or one write unit) the power is gone: the operation
/// in progress is left half done and nothing after it happens.
#[derive(Clone)]
struct Flash {
    bytes: Vec<u8>,
    budget: Option<usize>,
}

const SECTOR: usize = 512;
const UNIT: usize = 4;

impl Flash {
    fn new(size: usize) -> Flash {
        Flash {
            bytes: vec![0xFF; size],
            budget: None,
        }
    }

    /// Spends one operation; false once the power is gone.
    fn spend(&mut self) -> bool {
        match &mut self.budget {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

impl ErrorType for Flash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for Flash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let start = offset as usize;
        bytes.copy_from_slice(
            self.bytes
                .get(start..start + bytes.len())
                .ok_or(NorFlashErrorKind::OutOfBounds)?,
        );
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for Flash {
    const WRITE_SIZE: usize = UNIT;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        for sector in (from as usize..to as usize).step_by(SECTOR) {
            if !self.spend() {
                // Cut mid-erase: half the sector erased.
                self.bytes[sector..sector + SECTOR / 2].fill(0xFF);
                return Err(NorFlashErrorKind::Other);
            }
            self.bytes[sector..sector + SECTOR].fill(0xFF);
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        assert_eq!(bytes.len() % UNIT, 0, "writes come in whole units");
        for (i, unit) in bytes.chunks(UNIT).enumerate() {
            let at = offset as usize + i * UNIT;
            let cut = !self.spend();
            let n = if cut { UNIT / 2 } else { UNIT };
            for (dst, src) in self.bytes[at..at + n].iter_mut().zip(unit) {
                *dst &= src; // NOR programming only clears bits
            }
            if cut {
                return Err(NorFlashErrorKind::Other);
            }
        }
        Ok(())
    }
}

fn sine_file(seed: u64) -> Vec<u8> {
    let net = Sine::init(&mut common::rng(seed), Init::HeUniform);
    let meta = Metadata {
        name: "sine",
        ..Metadata::default()
    };
    let mut bytes = vec![0; encoded_len(&net, &meta).unwrap()];
    encode(&net, &meta, &mut bytes).unwrap();
    bytes
}

const STORE: SlotStore = SlotStore {
    slot_size: 4 * SECTOR as u32,
};

fn load(flash: &mut Flash) -> (Loaded, Vec<u8>) {
    let mut buf = vec![0; STORE.slot_size as usize];
    let loaded = STORE.load(flash, &mut buf).unwrap();
    buf.truncate(loaded.len);
    (loaded, buf)
}

#[test]
fn saves_alternate_slots_and_load_the_newest() {
    let mut flash = Flash::new(2 * STORE.slot_size as usize);
    let mut scratch = vec![0; STORE.slot_size as usize];
    assert_eq!(
        STORE.load(&mut flash, &mut scratch).unwrap_err(),
        nn_core::Error::NoValidModel
    );
    let files = [sine_file(1), sine_file(2), sine_file(3)];
    for (i, file) in files.iter().enumerate() {
        let saved = STORE.save(&mut flash, file, &mut scratch).unwrap();
        assert_eq!(saved.slot, i as u32 % 2);
        assert_eq!(saved.sequence, i as u32 + 1);
        let (loaded, bytes) = load(&mut flash);
        assert_eq!(loaded, saved);
        assert_eq!(&bytes, file);
        assert!(WeightFile::parse_exact(&bytes).is_ok());
    }
    // A corrupted newest slot: the older one is used.
    flash.bytes[100] ^= 0x10;
    let (loaded, bytes) = load(&mut flash);
    assert_eq!((loaded.slot, loaded.sequence), (1, 2));
    assert_eq!(bytes, files[1]);
    let too_big = vec![0u8; STORE.slot_size as usize];
    assert!(STORE.save(&mut flash, &too_big, &mut scratch).is_err());
}

#[test]
fn a_power_cut_at_any_point_of_a_save_leaves_the_old_or_the_new_model() {
    let mut scratch = vec![0; STORE.slot_size as usize];
    let (old, new) = (sine_file(7), sine_file(8));
    for history in 1..=2 {
        // One or two earlier saves, so the cut save targets slot 1 or slot 0.
        let mut before = Flash::new(2 * STORE.slot_size as usize);
        for i in 0..history {
            STORE
                .save(
                    &mut before,
                    if i + 1 == history { &old } else { &new },
                    &mut scratch,
                )
                .unwrap();
        }
        let mut counting = before.clone();
        counting.budget = Some(usize::MAX);
        STORE.save(&mut counting, &new, &mut scratch).unwrap();
        let operations = usize::MAX - counting.budget.unwrap();
        assert!(operations > 300, "{operations} operations");
        // The commit record is the last RECORD_LEN / UNIT writes; before it the old model must
        // win. During it either may (a half-written unit can already hold the right bits).
        let record_starts = operations - nn_core::store::RECORD_LEN / UNIT;
        let (mut old_seen, mut new_seen) = (0, 0);
        for cut in 0..=operations {
            let mut flash = before.clone();
            flash.budget = Some(cut);
            let result = STORE.save(&mut flash, &new, &mut scratch);
            assert_eq!(
                result.is_ok(),
                cut == operations,
                "cut after {cut} of {operations}"
            );
            flash.budget = None;
            let (_, bytes) = load(&mut flash);
            if cut < record_starts {
                assert_eq!(bytes, old, "cut after {cut}: the old model must still be loaded");
            }
            if bytes == old {
                old_seen += 1;
            } else {
                assert_eq!(bytes, new, "cut after {cut}: boot found neither model");
                new_seen += 1;
            }
        }
        assert!(
            new_seen >= 1 && old_seen >= record_starts,
            "{old_seen} old, {new_seen} new"
        );
    }
}
