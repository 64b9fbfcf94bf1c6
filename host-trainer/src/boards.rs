//! The boards the firmware example is built for, as `host-trainer inspect --board` needs
//! them: the size of the flash region that holds the weight file, the RAM, and the width
//! the firmware's run-time path holds per layer. These restate `firmware-example/memory/*.x`
//! and the firmware's `CAPACITY`; a test holds them to those files.

use nn_core::WeightFile;

use crate::cost::Core;

/// One board of the firmware example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Board {
    /// The name `--board` takes (and the memory map's file name).
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Bytes of the flash region reserved for the weight file (`MODEL` in its memory map).
    pub model_region_bytes: usize,
    /// Bytes of RAM.
    pub ram_bytes: usize,
    /// Units per layer the firmware's run-time path holds on this board.
    pub run_time_capacity: usize,
    /// Its processor core (what an inference costs in instructions).
    pub core: Core,
}

/// Every board the firmware example has a memory map for.
pub const BOARDS: [Board; 3] = [
    Board {
        name: "mps2-an386",
        description: "Cortex-M4F under QEMU, the default target",
        model_region_bytes: 256 * 1024,
        ram_bytes: 4 * 1024 * 1024,
        run_time_capacity: 256,
        core: Core::CortexM4F,
    },
    Board {
        name: "microbit",
        description: "Cortex-M0 under QEMU, --target thumbv6m-none-eabi",
        model_region_bytes: 64 * 1024,
        ram_bytes: 16 * 1024,
        run_time_capacity: 128,
        core: Core::CortexM0,
    },
    Board {
        name: "nrf52840",
        description: "Cortex-M4F, nRF52840 DK, firmware built with --features nrf52840",
        model_region_bytes: 128 * 1024,
        ram_bytes: 256 * 1024,
        run_time_capacity: 256,
        core: Core::CortexM4F,
    },
];

/// The board named `name`.
pub fn board(name: &str) -> Option<Board> {
    BOARDS.into_iter().find(|b| b.name == name)
}

/// RAM the run-time path's scratch takes for a network whose widest layer has `widest`
/// units: two buffers of it, 4 bytes a unit (int8 scratch is f32-sized too).
pub fn scratch_bytes(widest: usize) -> usize {
    2 * widest * size_of::<f32>()
}

/// Whether a weight file fits a board, and by how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The file's bytes.
    pub file_bytes: usize,
    /// Its widest layer, in units.
    pub widest: usize,
    /// RAM the run-time path's scratch takes for this file: two buffers of its widest
    /// layer, in the file's kind (f32: 4 bytes a unit; int8 scratch is f32-sized too).
    pub scratch_bytes: usize,
    /// RAM the firmware reserves for that scratch (its capacity; fixed by the build).
    pub reserved_scratch_bytes: usize,
}

impl Fit {
    /// The file's figures against `board`.
    pub fn of(file: &WeightFile<'_>, board: &Board) -> Fit {
        let widest = file.widest_layer();
        Fit {
            file_bytes: file.len(),
            widest,
            scratch_bytes: scratch_bytes(widest),
            reserved_scratch_bytes: scratch_bytes(board.run_time_capacity),
        }
    }

    /// The file fits the board's model region.
    pub fn flash_fits(&self, board: &Board) -> bool {
        self.file_bytes <= board.model_region_bytes
    }

    /// Its widest layer fits the run-time path (the unmodified firmware runs it).
    pub fn run_time_fits(&self, board: &Board) -> bool {
        self.widest <= board.run_time_capacity
    }
}
