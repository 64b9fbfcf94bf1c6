//! `host-trainer inspect --board` restates the firmware's memory maps: held to them here.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::boards::BOARDS;

/// The LENGTH of region `name` in a linker memory map.
fn region_length(map: &str, name: &str) -> usize {
    let line = map
        .lines()
        .find(|l| l.trim_start().starts_with(name) && l.contains("LENGTH"))
        .unwrap_or_else(|| panic!("no {name} region in:\n{map}"));
    let hex = line.split("LENGTH = 0x").nth(1).unwrap().trim();
    usize::from_str_radix(hex, 16).unwrap()
}

#[test]
fn the_board_table_is_the_firmware_memory_maps() {
    for board in BOARDS {
        let path = integration_tests::root().join(format!("firmware-example/memory/{}.x", board.name));
        let map = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            region_length(&map, "MODEL"),
            board.model_region_bytes,
            "{}",
            board.name
        );
        assert_eq!(region_length(&map, "RAM"), board.ram_bytes, "{}", board.name);
    }
    let type_name = host_trainer::export::type_name;
    assert_eq!(type_name("digits-int8"), "DigitsInt8");
    assert_eq!(type_name("sine"), "Sine");
    assert_eq!(type_name("8x8 digits"), "Model8x8Digits");
}
