//! Detector scoring speed: the isolation forest (100 trees, 256 samples, 8 features) in batch, per sample,
//! on one thread and on every core, and one row at a time as in a streaming loop; the recommended ensemble
//! per streamed row. `benches/iforest_sklearn.py` times scikit-learn on the same data.
//!
//! `cargo bench -p aeroguard-benches --bench detect`

use std::hint::black_box;
use std::time::Duration;

use aeroguard_detect::{Detector, EnsembleRecipe, FittedDetector, IsolationForest};
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

criterion_group!(benches, forest, ensemble);
criterion_main!(benches);
