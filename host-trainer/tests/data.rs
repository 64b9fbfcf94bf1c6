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
