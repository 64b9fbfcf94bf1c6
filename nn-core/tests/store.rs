//! Saving a weight file to NOR flash in two slots: a power cut at any point of a save leaves
//! a valid model (the old or the new), on a simulated flash: with small sectors, and with
//! the nRF52840's NVMC parameters (4 KiB pages, 4-byte words, each word written at most
//! once between erases, as nrf52840-hal's `Nvmc` requires), the flash the firmware's
//! nRF52840 build keeps its adapted models in.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use nn_core::store::{Loaded, SlotStore};
use nn_core::{Dense, Identity, Init, Metadata, Relu, Trainable, WeightFile, encode, encoded_len, network};

type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];

/// NOR flash in RAM with erase sectors of `SECTOR` bytes and write units of `UNIT`: erase
/// sets 0xFF per sector, writes can only clear bits, and a unit may be written once between
/// erases (asserted). After `budget` operations (a sector erase or one write unit) the power
/// is gone: the operation in progress is left half done and nothing after it happens.
#[derive(Clone)]
struct Flash<const SECTOR: usize, const UNIT: usize> {
    bytes: Vec<u8>,
    /// Per write unit: written since its sector's last erase.
    written: Vec<bool>,
    budget: Option<usize>,
}

/// The small sectors the store was first tested with.
type SmallSectors = Flash<512, 4>;
/// The nRF52840's NVMC (nrf52840-hal's `Nvmc`: `ERASE_SIZE` 4096, `WRITE_SIZE` 4).
type Nrf52840 = Flash<4096, 4>;

impl<const SECTOR: usize, const UNIT: usize> Flash<SECTOR, UNIT> {
    fn new(size: usize) -> Self {
        Flash {
            bytes: vec![0xFF; size],
            written: vec![false; size / UNIT],
            budget: None,
        }
    }

    /// Two slots of `sectors` erase sectors each.
    fn store(sectors: u32) -> SlotStore {
        SlotStore {
            slot_size: sectors * SECTOR as u32,
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

impl<const SECTOR: usize, const UNIT: usize> ErrorType for Flash<SECTOR, UNIT> {
    type Error = NorFlashErrorKind;
}

impl<const SECTOR: usize, const UNIT: usize> ReadNorFlash for Flash<SECTOR, UNIT> {
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

impl<const SECTOR: usize, const UNIT: usize> NorFlash for Flash<SECTOR, UNIT> {
    const WRITE_SIZE: usize = UNIT;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        assert!(
            (from as usize).is_multiple_of(SECTOR) && (to as usize).is_multiple_of(SECTOR),
            "erases come in whole sectors"
        );
        for sector in (from as usize..to as usize).step_by(SECTOR) {
            // Cut or not, the sector's words count as erased (a half-erased page is erased
            // again before any write: the store erases a slot first).
            self.written[sector / UNIT..(sector + SECTOR) / UNIT].fill(false);
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
        assert!((offset as usize).is_multiple_of(UNIT), "writes start on a unit");
        assert_eq!(bytes.len() % UNIT, 0, "writes come in whole units");
        for (i, unit) in bytes.chunks(UNIT).enumerate() {
            let at = offset as usize + i * UNIT;
            assert!(
                !self.written[at / UNIT],
                "unit at {at} written twice between erases"
            );
            self.written[at / UNIT] = true;
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

fn load<const S: usize, const U: usize>(store: &SlotStore, flash: &mut Flash<S, U>) -> (Loaded, Vec<u8>) {
    let mut buf = vec![0; store.slot_size as usize];
    let loaded = store.load(flash, &mut buf).unwrap();
    buf.truncate(loaded.len);
    (loaded, buf)
}

#[test]
fn saves_alternate_slots_and_load_the_newest() {
    saves_alternate_slots::<512, 4>(&SmallSectors::store(4));
    saves_alternate_slots::<4096, 4>(&Nrf52840::store(2));
}

#[test]
fn a_power_cut_at_any_point_of_a_save_leaves_the_old_or_the_new_model() {
    power_cut_anywhere::<512, 4>(&SmallSectors::store(4));
    power_cut_anywhere::<4096, 4>(&Nrf52840::store(2));
}

fn saves_alternate_slots<const S: usize, const U: usize>(store: &SlotStore) {
    let mut flash = Flash::<S, U>::new(2 * store.slot_size as usize);
    let mut scratch = vec![0; store.slot_size as usize];
    assert_eq!(
        store.load(&mut flash, &mut scratch).unwrap_err(),
        nn_core::Error::NoValidModel
    );
    let files = [sine_file(1), sine_file(2), sine_file(3)];
    for (i, file) in files.iter().enumerate() {
        let saved = store.save(&mut flash, file, &mut scratch).unwrap();
        assert_eq!(saved.slot, i as u32 % 2);
        assert_eq!(saved.sequence, i as u32 + 1);
        let (loaded, bytes) = load(store, &mut flash);
        assert_eq!(loaded, saved);
        assert_eq!(&bytes, file);
        assert!(WeightFile::parse_exact(&bytes).is_ok());
    }
    // A corrupted newest slot: the older one is used.
    flash.bytes[100] ^= 0x10;
    let (loaded, bytes) = load(store, &mut flash);
    assert_eq!((loaded.slot, loaded.sequence), (1, 2));
    assert_eq!(bytes, files[1]);
    let too_big = vec![0u8; store.slot_size as usize];
    assert!(store.save(&mut flash, &too_big, &mut scratch).is_err());
}

fn power_cut_anywhere<const S: usize, const U: usize>(store: &SlotStore) {
    let mut scratch = vec![0; store.slot_size as usize];
    let (old, new) = (sine_file(7), sine_file(8));
    for history in 1..=2 {
        // One or two earlier saves, so the cut save targets slot 1 or slot 0.
        let mut before = Flash::<S, U>::new(2 * store.slot_size as usize);
        for i in 0..history {
            store
                .save(
                    &mut before,
                    if i + 1 == history { &old } else { &new },
                    &mut scratch,
                )
                .unwrap();
        }
        let mut counting = before.clone();
        counting.budget = Some(usize::MAX);
        store.save(&mut counting, &new, &mut scratch).unwrap();
        let operations = usize::MAX - counting.budget.unwrap();
        assert!(operations > 300, "{operations} operations");
        // The commit record is the last RECORD_LEN / UNIT writes; before it the old model must
        // win. During it either may (a half-written unit can already hold the right bits).
        let record_starts = operations - nn_core::store::RECORD_LEN / U;
        let (mut old_seen, mut new_seen) = (0, 0);
        for cut in 0..=operations {
            let mut flash = before.clone();
            flash.budget = Some(cut);
            let result = store.save(&mut flash, &new, &mut scratch);
            assert_eq!(
                result.is_ok(),
                cut == operations,
                "cut after {cut} of {operations}"
            );
            flash.budget = None;
            let (_, bytes) = load(store, &mut flash);
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
