//! Neural detector speed on 8 features: the LSTM predictor (hidden 32) carrying its state one row at a time,
//! the dense autoencoder (window 4, 32 hidden, bottleneck 4) per streamed row, the convolutional autoencoder
//! (window 16) per streamed row, and batch scoring per sample for each. Then the full recommended ensemble per
//! streamed row (three classic members, two neural ones, the level shift and the relations member, behind
//! their rate roles, with the vote record, its diagnosis and the drivers of every yes vote): on normal rows,
//! and on rows where one sensor is off by three units (every member votes, and explains its vote).
//!
//! `cargo bench -p aeroguard-benches --bench neural`

use std::hint::black_box;
use std::time::Duration;

use aeroguard_detect::neural::{Autoencoder, ConvAutoencoder, Lstm, Training};
use aeroguard_detect::{Detector, EnsembleRecipe, FittedDetector, Model};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

fn data(rows: usize, offset: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 8), |(i, j)| {
        let i = i + offset;
        (i as f64 * 0.37 + j as f64 * 1.3).sin() + ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0
    })
}

fn neural(c: &mut Criterion) {
    let train = data(400, 0);
    let test = data(2_000, 400);
    let quick = Training {
        epochs: 5,
        ..Training::default()
    };
    let models: Vec<Model> = vec![
        Lstm::builder()
            .hidden(32)
            .training(quick)
            .build()
            .unwrap()
            .fit(train.view())
            .unwrap()
            .into(),
        Autoencoder::builder()
            .training(quick)
            .build()
            .unwrap()
            .fit(train.view())
            .unwrap()
            .into(),
        ConvAutoencoder::builder()
            .training(quick)
            .build()
            .unwrap()
            .fit(train.view())
            .unwrap()
            .into(),
    ];
    let mut group = c.benchmark_group("neural");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for mut model in models {
        let name = model.name().to_string();
        group.throughput(Throughput::Elements(1));
        let mut i = 0;
        group.bench_function(BenchmarkId::new("streamed row", &name), |b| {
            b.iter(|| {
                i = (i + 1) % test.nrows();
                black_box(model.update(test.row(i)).unwrap())
            })
        });
        group.throughput(Throughput::Elements(test.nrows() as u64));
        group.bench_function(BenchmarkId::new("batch 2k rows", &name), |b| {
            b.iter(|| black_box(model.score(test.view()).unwrap()))
        });
    }
    let mut recipe = EnsembleRecipe::full();
    recipe.neural.training = quick;
    let mut voter = recipe.fit(train.view()).unwrap();
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("full ensemble streamed row", |b| {
        b.iter(|| {
            i = (i + 1) % test.nrows();
            black_box(voter.update(test.row(i)))
        })
    });
    let mut faulty = test.clone();
    faulty.column_mut(3).mapv_inplace(|v| v + 3.0);
    voter.reset();
    let yes = faulty
        .outer_iter()
        .take(200)
        .map(|r| {
            voter
                .update(r)
                .members
                .iter()
                .filter(|m| !m.drivers.is_empty())
                .count()
        })
        .sum::<usize>();
    eprintln!("fault on one sensor: {yes} yes votes with drivers in 200 rows");
    let mut i = 0;
    group.bench_function("full ensemble streamed row, one sensor off", |b| {
        b.iter(|| {
            i = (i + 1) % faulty.nrows();
            black_box(voter.update(faulty.row(i)))
        })
    });
    group.finish();
}

criterion_group!(benches, neural);
criterion_main!(benches);
