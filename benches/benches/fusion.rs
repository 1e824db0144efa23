//! Every fusion strategy at n = 3, 16 and 1024 readings (mid-value select: n = 3 only), beside one sort of the
//! same values (`one_sort`), the yardstick: each strategy at n = 1024 within 3x of it.
//!
//! `cargo bench -p aeroguard-benches --bench fusion`

use std::hint::black_box;
use std::time::Duration;

use aeroguard_core::fusion::{FusionConfig, StrategyKind};
use aeroguard_core::{Reading, SensorId, Timestamp};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// `n` readings around 50 with a deterministic spread, one in eight far off, half-width 1.
fn readings(n: usize) -> Vec<Reading> {
    let t = Timestamp::from_millis(0);
    (0..n)
        .map(|i| {
            let jitter = ((i * 7919) % 1000) as f64 / 1000.0 - 0.5;
            let value = if i % 8 == 7 { 500.0 + jitter } else { 50.0 + jitter };
            Reading::new(SensorId::new(format!("s{i}")).unwrap(), value, t).with_std_dev(0.4)
        })
        .collect()
}

fn fusion(c: &mut Criterion) {
    let mut group = c.benchmark_group("fusion");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [3usize, 16, 1024] {
        let rs = readings(n);
        group.throughput(Throughput::Elements(n as u64));
        // The yardstick: one sort of the same values (a copy, then a stable sort by total order).
        let values: Vec<f64> = rs.iter().map(|r| r.value).collect();
        group.bench_with_input(BenchmarkId::new("one_sort", n), &values, |b, values| {
            b.iter(|| {
                let mut v = black_box(values).clone();
                v.sort_by(f64::total_cmp);
                v
            })
        });
        for kind in StrategyKind::ALL {
            let f = match kind {
                StrategyKind::Mean | StrategyKind::WeightedMean => 0,
                StrategyKind::MidValueSelect if n != 3 => continue,
                StrategyKind::MidValueSelect => 1,
                _ => (n - 1) / 4,
            };
            let fuser = FusionConfig::new(kind, f).build().unwrap();
            fuser.fuse(&rs, Timestamp::from_millis(0)).unwrap();
            group.bench_with_input(
                BenchmarkId::new(kind.name().replace(' ', "_"), n),
                &rs,
                |b, rs| b.iter(|| fuser.fuse(black_box(rs), Timestamp::from_millis(0))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, fusion);
criterion_main!(benches);
