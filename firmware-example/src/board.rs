//! Everything that touches the hardware, and all of the firmware's `unsafe`: the model's
//! flash region, exiting, counting instructions, and measuring the stack by painting it.

use cortex_m_semihosting::debug;

unsafe extern "C" {
    /// First byte of the flash region reserved for the weight file (memory/*.x).
    static __model_start: u8;
    /// One past its last byte.
    static __model_end: u8;
}

/// The weight file's flash region: read-only bytes, placed by QEMU's loader or a flashing tool.
pub fn model_region() -> &'static [u8] {
    let start = &raw const __model_start as usize;
    let end = &raw const __model_end as usize;
    // SAFETY: the linker script reserves [start, end) in flash for the weight file; this
    // program never writes flash, so the bytes are valid and unchanging for 'static.
    unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance(start), end - start) }
}

/// Ends the program (QEMU exits with status 0 or 1; so does `probe-rs run` on a real board,
/// by the same semihosting call). A real board with no debugger attached, where that call
/// would halt it, idles instead: its report was sent already.
pub fn exit(success: bool) -> ! {
    // (On the Cortex-M0+ of the RP2040 software cannot read DHCSR: there it always idles.)
    #[cfg(real_board)]
    if !cortex_m::peripheral::DCB::is_debugger_attached() || cfg!(board = "rp2040") {
        loop {
            cortex_m::asm::wfi();
        }
    }
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The report on a real board: each line assembled with `core::fmt` (the same text as under
/// QEMU) and sent as one defmt frame over RTT, which `probe-rs run` prints. defmt-rtt does not
/// block when no probe reads it: a board on its own runs to the end.
#[cfg(real_board)]
pub mod log {
    use core::cell::RefCell;
    use core::fmt::Write;

    use critical_section::Mutex;
    use defmt_rtt as _;

    /// The line so far (a vector line of 64 inputs and 10 outputs takes about 900 bytes).
    static LINE: Mutex<RefCell<heapless::String<2048>>> = Mutex::new(RefCell::new(heapless::String::new()));

    /// Adds to the current line.
    pub fn part(args: core::fmt::Arguments<'_>) {
        critical_section::with(|cs| {
            let _ = LINE.borrow_ref_mut(cs).write_fmt(args);
        });
    }

    /// Ends the current line with `args` and sends it.
    pub fn line(args: core::fmt::Arguments<'_>) {
        critical_section::with(|cs| {
            let mut line = LINE.borrow_ref_mut(cs);
            let _ = line.write_fmt(args);
            defmt::println!("{=str}", line.as_str());
            line.clear();
        });
    }
}

/// The RP2040's second-stage bootloader: the first 256 bytes of flash (memory/rp2040.x), which
/// the boot ROM checks and runs to set up execute-in-place from the Pico's W25Q080 flash.
#[cfg(board = "rp2040")]
#[unsafe(link_section = ".boot2")]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// Reads and writes a 32-bit memory-mapped register (the emulated boards' timers).
#[cfg(not(any(board = "nrf52840", board = "rp2040")))]
mod mmio {
    pub fn write(address: usize, value: u32) {
        // SAFETY: only called with the timer register addresses of this board.
        unsafe { core::ptr::write_volatile(core::ptr::with_exposed_provenance_mut::<u32>(address), value) }
    }

    pub fn read(address: usize) -> u32 {
        // SAFETY: as above.
        unsafe { core::ptr::read_volatile(core::ptr::with_exposed_provenance::<u32>(address)) }
    }
}

/// An instruction counter. Under QEMU with `-icount shift=10` every instruction advances
/// the emulated clock by 1024 ns, so a timer's ticks count instructions exactly.
#[cfg(board = "mps2-an386")]
mod counter {
    use super::mmio;

    /// CMSDK TIMER0: CTRL at +0, VALUE (counting down) at +4, RELOAD at +8; 25 MHz.
    const TIMER0: usize = 0x4000_0000;
    /// Timer ticks per instruction, times 10 (25 MHz x 1024 ns = 25.6).
    const TICKS_PER_INSN_X10: u64 = 256;

    pub fn start() {
        mmio::write(TIMER0, 0);
        mmio::write(TIMER0 + 8, u32::MAX);
        mmio::write(TIMER0 + 4, u32::MAX);
        mmio::write(TIMER0, 1);
    }

    /// Ticks since `start`.
    pub fn now() -> u32 {
        u32::MAX - mmio::read(TIMER0 + 4)
    }

    pub fn instructions(ticks: u32) -> u32 {
        ((u64::from(ticks) * 10 + TICKS_PER_INSN_X10 / 2) / TICKS_PER_INSN_X10) as u32
    }
}

/// nRF51 TIMER0 at 16 MHz, 32-bit, read by a capture task.
#[cfg(board = "microbit")]
mod counter {
    use super::mmio;

    const TIMER0: usize = 0x4000_8000;
    /// Ticks per instruction, times 1000 (16 MHz x 1024 ns = 16.384).
    const TICKS_PER_INSN_X1000: u64 = 16_384;

    pub fn start() {
        mmio::write(TIMER0 + 0x004, 1); // TASKS_STOP
        mmio::write(TIMER0 + 0x00C, 1); // TASKS_CLEAR
        mmio::write(TIMER0 + 0x504, 0); // MODE: timer
        mmio::write(TIMER0 + 0x508, 3); // BITMODE: 32 bits
        mmio::write(TIMER0 + 0x510, 0); // PRESCALER: 16 MHz
        mmio::write(TIMER0, 1); // TASKS_START
    }

    pub fn now() -> u32 {
        mmio::write(TIMER0 + 0x040, 1); // TASKS_CAPTURE[0]
        mmio::read(TIMER0 + 0x540) // CC[0]
    }

    pub fn instructions(ticks: u32) -> u32 {
        ((u64::from(ticks) * 1000 + TICKS_PER_INSN_X1000 / 2) / TICKS_PER_INSN_X1000) as u32
    }
}

/// On the RP2040: SysTick on the processor clock (cycles, not instructions: XIP flash
/// fetches and their cache misses count). 24 bits: a call may take up to 16.7 M cycles.
#[cfg(board = "rp2040")]
mod counter {
    use cortex_m::peripheral::SYST;
    use cortex_m::peripheral::syst::SystClkSource;

    const RELOAD: u32 = 0x00FF_FFFF;

    pub fn start() {
        // SAFETY: the program is single-threaded and owns the core peripherals here.
        let mut core = unsafe { cortex_m::Peripherals::steal() };
        core.SYST.set_clock_source(SystClkSource::Core);
        core.SYST.set_reload(RELOAD);
        core.SYST.clear_current();
        core.SYST.enable_counter();
    }

    /// Ticks since `start` (the counter counts down).
    pub fn now() -> u32 {
        RELOAD - SYST::get_current()
    }

    pub fn instructions(ticks: u32) -> u32 {
        ticks
    }
}

/// On a real board: the DWT cycle counter (cycles, not instructions).
#[cfg(board = "nrf52840")]
mod counter {
    pub fn start() {
        // SAFETY: the program is single-threaded and owns the core peripherals here.
        let mut core = unsafe { cortex_m::Peripherals::steal() };
        core.DCB.enable_trace();
        cortex_m::peripheral::DWT::unlock();
        core.DWT.set_cycle_count(0);
        core.DWT.enable_cycle_counter();
    }

    pub fn now() -> u32 {
        cortex_m::peripheral::DWT::cycle_count()
    }

    pub fn instructions(ticks: u32) -> u32 {
        ticks
    }
}

/// What one call cost.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// Instructions executed (cycles on a real board).
    pub instructions: u32,
    /// Peak stack below the caller's frame, in bytes.
    pub stack_bytes: u32,
}

/// Bytes of stack painted below the current frame before a measured call.
const PAINT_BYTES: usize = 4096;
const PAINT: u32 = 0x5AA5_C33C;

/// Runs `f` once, counting its instructions and the stack it touches: the stack below this
/// frame is painted with a pattern first, and afterwards the deepest word no longer holding
/// the pattern marks the peak. (QEMU does not fault on a stack overflow, so painting is how
/// the stack is measured.) The cost includes a constant overhead: measure an empty closure
/// and subtract it.
#[inline(never)]
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Cost) {
    let top = cortex_m::register::msp::read() as usize & !3;
    let bottom = top - PAINT_BYTES;
    for address in (bottom..top).step_by(4) {
        // SAFETY: the stack below the current stack pointer is unused (no interrupts are
        // enabled), and the RAM maps leave far more than PAINT_BYTES of it.
        unsafe { core::ptr::write_volatile(core::ptr::with_exposed_provenance_mut::<u32>(address), PAINT) }
    }
    counter::start();
    let before = counter::now();
    let result = core::hint::black_box(f());
    let after = counter::now();
    let deepest = (bottom..top)
        .step_by(4)
        // SAFETY: reads back the words painted above.
        .find(|&address| unsafe { core::ptr::read_volatile(core::ptr::with_exposed_provenance::<u32>(address)) } != PAINT)
        .unwrap_or(top);
    let cost = Cost {
        instructions: counter::instructions(after.wrapping_sub(before)),
        stack_bytes: (top - deepest) as u32,
    };
    (result, cost)
}

/// The adapted-model store of the nRF52840 DK: its STORE flash region (memory/nrf52840.x)
/// through the NVMC, by nrf52840-hal's driver (`NorFlash` with 4 KiB pages and 4-byte words,
/// each word written once between erases: what nn-core's store tests check it meets).
#[cfg(board = "nrf52840")]
pub mod store_flash {
    use nrf52840_hal::nvmc::Nvmc;
    use nrf52840_hal::pac::NVMC;

    unsafe extern "C" {
        static __store_start: u8;
        static __store_end: u8;
    }

    /// The store's flash.
    pub type StoreFlash = Nvmc<NVMC>;

    /// The STORE region through the NVMC. Opened for one load or one save at a time, and
    /// dropped before the next (an adapted model is copied to RAM when loaded, never
    /// borrowed from the region).
    pub fn open() -> StoreFlash {
        let start = &raw const __store_start as usize;
        let end = &raw const __store_end as usize;
        // SAFETY: the NVMC is used by this module only, one driver at a time (see above).
        let nvmc = unsafe { nrf52840_hal::pac::Peripherals::steal() }.NVMC;
        // SAFETY: the linker script reserves [start, end) in flash for the store, page-aligned;
        // no other reference to it exists while this driver lives (see above).
        let storage = unsafe {
            core::slice::from_raw_parts_mut(core::ptr::with_exposed_provenance_mut::<u8>(start), end - start)
        };
        Nvmc::new(nvmc, storage)
    }

    /// The adapted model `file` the store loaded, kept for the program's life: copied to RAM.
    pub fn keep(file: &[u8], _slot: u32) -> Option<&'static [u8]> {
        let buffer = cortex_m::singleton!(: [u32; super::STORE_SLOT / 4] = [0; super::STORE_SLOT / 4])?;
        let bytes: &mut [u8; super::STORE_SLOT] = bytemuck_bytes(buffer);
        let kept = bytes.get_mut(..file.len())?;
        kept.copy_from_slice(file);
        Some(kept)
    }

    /// The words as bytes (4-byte aligned, for the weight file's in-place reading).
    fn bytemuck_bytes(
        words: &'static mut [u32; super::STORE_SLOT / 4],
    ) -> &'static mut [u8; super::STORE_SLOT] {
        // SAFETY: same size and u8 has no alignment requirement; the words are owned here.
        unsafe { &mut *core::ptr::from_mut(words).cast::<[u8; super::STORE_SLOT]>() }
    }
}

/// Bytes per slot of the adapted-model store (two slots of two 4 KiB pages on the nRF52840).
#[cfg(any(board = "mps2-an386", board = "nrf52840"))]
pub const STORE_SLOT: usize = 8192;

/// The adapted-model store of the emulated board: QEMU backs mps2-an386's "flash" with RAM,
/// so this driver programs it with plain stores, keeping NOR semantics (erase sets 0xFF,
/// writing only clears bits). A real board plugs its flash driver (e.g. the nRF52840's
/// NVMC) into the same `embedded-storage` traits instead.
#[cfg(board = "mps2-an386")]
pub mod store_flash {
    use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};

    unsafe extern "C" {
        static __store_start: u8;
        static __store_end: u8;
    }

    /// The STORE region of the memory map.
    pub struct EmulatedFlash {
        base: usize,
        len: usize,
    }

    /// The store's flash.
    pub type StoreFlash = EmulatedFlash;

    /// The STORE region.
    pub fn open() -> StoreFlash {
        EmulatedFlash::new()
    }

    /// The adapted model the store loaded from `slot`, borrowed in place from the region.
    pub fn keep(file: &[u8], slot: u32) -> Option<&'static [u8]> {
        let start = slot as usize * super::STORE_SLOT;
        EmulatedFlash::new().bytes().get(start..start + file.len())
    }

    impl EmulatedFlash {
        /// The region the linker script reserves.
        pub fn new() -> EmulatedFlash {
            let base = &raw const __store_start as usize;
            let end = &raw const __store_end as usize;
            EmulatedFlash {
                base,
                len: end - base,
            }
        }

        /// The region's bytes, as the CPU sees them (to borrow a stored model in place).
        pub fn bytes(&self) -> &'static [u8] {
            // SAFETY: the linker script reserves this flash region; it changes only through
            // this driver, and a model borrowed from it is used before any save.
            unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance(self.base), self.len) }
        }

        fn check(&self, offset: u32, len: usize) -> Result<usize, NorFlashErrorKind> {
            let offset = offset as usize;
            if offset.checked_add(len).is_some_and(|end| end <= self.len) {
                Ok(self.base + offset)
            } else {
                Err(NorFlashErrorKind::OutOfBounds)
            }
        }
    }

    impl ErrorType for EmulatedFlash {
        type Error = NorFlashErrorKind;
    }

    impl ReadNorFlash for EmulatedFlash {
        const READ_SIZE: usize = 1;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
            let address = self.check(offset, bytes.len())?;
            for (i, b) in bytes.iter_mut().enumerate() {
                // SAFETY: inside the STORE region (checked), which only this driver uses.
                *b = unsafe {
                    core::ptr::read_volatile(core::ptr::with_exposed_provenance::<u8>(address + i))
                };
            }
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.len
        }
    }

    impl NorFlash for EmulatedFlash {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = 4096;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
            let address = self.check(from, to.saturating_sub(from) as usize)?;
            for i in 0..(to - from) as usize {
                // SAFETY: as in `read`.
                unsafe {
                    core::ptr::write_volatile(core::ptr::with_exposed_provenance_mut::<u8>(address + i), 0xFF)
                }
            }
            Ok(())
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
            let address = self.check(offset, bytes.len())?;
            for (i, &b) in bytes.iter().enumerate() {
                let p = core::ptr::with_exposed_provenance_mut::<u8>(address + i);
                // SAFETY: as in `read`; NOR programming only clears bits.
                unsafe { core::ptr::write_volatile(p, core::ptr::read_volatile(p) & b) }
            }
            Ok(())
        }
    }
}
