//! Detector scoring speed: the isolation forest (100 trees, 256 samples, 8 features) in batch, per sample,
//! on one thread and on every core, and one row at a time as in a streaming loop; the recommended ensemble
//! per streamed row; the surprise detector on one metric. `benches/iforest_sklearn.py` times scikit-learn on the same data. Beside the forest, its
//! floor: the loads one sample's walk makes (100 trees x 8 steps, each a slot then the row's value), made with
//! no step waiting on the one before.
//!
//! `cargo bench -p aeroguard-benches --bench detect`

use std::hint::black_box;
use std::time::Duration;

use aeroguard_detect::{Detector, EnsembleRecipe, FittedDetector, IsolationForest, Surprise};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

/// The data `iforest_sklearn.py` builds too: a smooth signal plus deterministic jitter.
fn data(rows: usize, offset: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 8), |(i, j)| {
        let i = i + offset;
        (i as f64 * 0.37 + j as f64 * 1.3).sin() + ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0
    })
}

fn forest(c: &mut Criterion) {
    let train = data(1000, 0);
    let test = data(10_000, 1000);
    let mut group = c.benchmark_group("isolation_forest");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for threads in [1usize, 0] {
        let model = IsolationForest::builder()
            .threads(threads)
            .build()
            .unwrap()
            .fit(train.view())
            .unwrap();
        let label = if threads == 1 { "1 thread" } else { "all cores" };
        group.throughput(Throughput::Elements(test.nrows() as u64));
        group.bench_with_input(BenchmarkId::new("batch 10k rows", label), &test, |b, x| {
            b.iter(|| black_box(model.score(x.view()).unwrap()))
        });
    }
    let mut model = IsolationForest::builder()
        .build()
        .unwrap()
        .fit(train.view())
        .unwrap();
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("single row (update)", |b| {
        b.iter(|| {
            i = (i + 1) % test.nrows();
            black_box(model.update(test.row(i)).unwrap())
        })
    });
    group.finish();
}

fn ensemble(c: &mut Criterion) {
    let train = data(400, 0);
    let test = data(10_000, 400);
    let mut voter = EnsembleRecipe::default().fit(train.view()).unwrap();
    let mut group = c.benchmark_group("ensemble");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("streamed row with vote record", |b| {
        b.iter(|| {
            i = (i + 1) % test.nrows();
            black_box(voter.update(test.row(i)))
        })
    });
    group.finish();
}

/// The surprise detector on one metric: a streamed row (two likelihoods; every 100th row refits each on its
/// 8,640-row history), and a batch of 10,000 rows from the fitted state.
fn surprise(c: &mut Criterion) {
    let train = data(1000, 0).column(0).to_owned().insert_axis(ndarray::Axis(1));
    let test = data(10_000, 1000)
        .column(0)
        .to_owned()
        .insert_axis(ndarray::Axis(1));
    let mut model = Surprise::builder().build().unwrap().fit(train.view()).unwrap();
    let mut group = c.benchmark_group("surprise");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("streamed row, one metric", |b| {
        b.iter(|| {
            i = (i + 1) % test.nrows();
            black_box(model.update(test.row(i)).unwrap())
        })
    });
    group.throughput(Throughput::Elements(test.nrows() as u64));
    group.bench_function("batch 10k rows, one metric", |b| {
        b.iter(|| black_box(model.score(test.view()).unwrap()))
    });
    group.finish();
}

/// The floor of the forest's batch walk, per sample: the same 800 steps of two dependent loads (a tree slot's
/// threshold and feature, then the row's value at that feature) and a comparison, from arrays of the same sizes
/// (256 slots a tree, rows of 16 values, one block of 128 rows in cache), but with each step's slot picked by a
/// hash instead of by the step before, so nothing waits and the CPU runs the loads as fast as its ports allow.
fn forest_floor(c: &mut Criterion) {
    let slots: [(f64, u32); 256] = std::array::from_fn(|i| ((i % 17) as f64 / 17.0, (i as u32 * 7) % 8));
    let rows: Vec<[f64; 16]> = (0..128)
        .map(|r| std::array::from_fn(|j| ((r * 31 + j * 17) % 101) as f64 / 101.0))
        .collect();
    let mut group = c.benchmark_group("isolation_forest");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(128));
    group.bench_function("floor: 800 independent steps a sample, 128 samples", |b| {
        b.iter(|| {
            let mut right = 0usize;
            for (r, row) in rows.iter().enumerate() {
                let mut h = r * 40_503;
                for _ in 0..800 {
                    h = h.wrapping_add(2_654_435_761);
                    let (threshold, feature) = slots[(h >> 8) & 255];
                    right += usize::from(row[feature as usize & 15] > threshold);
                }
            }
            black_box(right)
        })
    });
    group.finish();
}

criterion_group!(benches, forest, forest_floor, ensemble, surprise);
criterion_main!(benches);
