//! Data handling that a user relies on without seeing it: which samples become test vectors.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::{Dataset, Rng, Table, Task};

/// Iris as shipped is sorted by class: the first 50 rows are all setosa.
fn iris() -> Dataset {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/iris.csv");
    let table = Table::read_csv(&path).unwrap();
    Dataset::from_table(&table, "label", Task::Classes(3)).unwrap()
}

#[test]
fn test_vectors_are_drawn_across_the_classes_and_the_range() {
    let data = iris();
    assert!(
        data.labels[..50].iter().all(|&l| l == 0),
        "the file is sorted by class"
    );
    for count in [3, 6, 8] {
        let picked = data.spread_indices(count, &mut Rng::new(1));
        assert_eq!(picked.len(), count);
        let mut per_class = [0usize; 3];
        for &i in &picked {
            per_class[data.labels[i]] += 1;
        }
        // Every class, as evenly as the count allows.
        assert!(
            per_class
                .iter()
                .all(|&n| n >= count / 3 && n <= count.div_ceil(3)),
            "{per_class:?}"
        );
    }
    // Seeded: the same seed picks the same samples, another seed others.
    assert_eq!(
        data.spread_indices(6, &mut Rng::new(1)),
        data.spread_indices(6, &mut Rng::new(1))
    );
    assert_ne!(
        data.spread_indices(6, &mut Rng::new(1)),
        data.spread_indices(6, &mut Rng::new(2))
    );
    // More than there are: every sample once.
    let mut all = data.spread_indices(1000, &mut Rng::new(1));
    all.sort_unstable();
    assert_eq!(all, (0..data.len()).collect::<Vec<_>>());

    // Regression: evenly over the target's range, from its smallest to its largest.
    let rows: Vec<(f32, f32)> = (0..100).map(|i| (i as f32, (i * 7 % 100) as f32)).collect();
    let data = Dataset::from_xy(&rows);
    let targets: Vec<f32> = data
        .spread_indices(5, &mut Rng::new(1))
        .iter()
        .map(|&i| data.y(i)[0])
        .collect();
    assert_eq!(targets, [0.0, 24.0, 49.0, 74.0, 99.0]);
}

/// The message for `bytes` read as CSV (it must be refused).
fn refusal(bytes: &[u8]) -> String {
    Table::from_reader("f.csv".as_ref(), bytes)
        .unwrap_err()
        .to_string()
}

#[test]
fn csv_errors_name_the_line_people_count_and_say_what_to_do() {
    let bad_third_line = "'four' is not a number";
    for (bytes, line) in [
        (&b"x,y\n1,2\n3,four\n"[..], 3),
        (b"x,y\r\n1,2\r\n3,four\r\n", 3),
        (b"x,y\r1,2\r3,four\r", 3),
        (b"x,y\n1,2\n\n3,four\n", 4),
        (b"x,y\r\n\r\n1,2\r\n\r\n3,four\r\n", 5),
        (b"sep=,\nx,y\n1,2\n3,four\n", 4),
        (b"\xef\xbb\xbfx,y\n1,2\n3,four\n", 3),
    ] {
        let message = refusal(bytes);
        assert!(
            message.starts_with(&format!("f.csv: line {line}, column 2 (y): {bad_third_line}")),
            "{:?}: {message}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert!(refusal(b"x,y\r\n1,2\r\n\r\n3\r\n").starts_with("f.csv: line 4: missing fields"));
    // Files that are not comma-separated UTF-8 say so, and what to do.
    assert!(
        refusal(b"x;y\n1;2\n")
            .contains("line 1: one column named 'x;y': the file looks separated by semicolons")
    );
    assert!(refusal(b"x\ty\n1\t2\n").contains("separated by tabs"));
    assert!(
        refusal(b"sep=;\nx;y\n1;2\n")
            .contains("the first line says the separator is ';' (Excel's sep= line)")
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("x,y\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert!(refusal(&utf16).contains("the file is UTF-16 text, not UTF-8"));
    // A byte-order mark and a sep=, line are read past: the columns are x and y.
    let table = Table::from_reader("f.csv".as_ref(), &b"\xef\xbb\xbfsep=,\r\nx,y\r\n1,2\r\n"[..]).unwrap();
    assert_eq!(table.columns, ["x", "y"]);
    assert_eq!(table.lines, [3]);
}
