//! Remaining useful life on C-MAPSS FD001 (release: training is numeric work). Grouped cross-validation must
//! hold the figures the `cmapss` example prints, and a file in NASA's test layout must score as one.

use std::fmt::Write as _;

use aeroguard_eval::cmapss::{self, Unit};
use aeroguard_eval::data::{self, DataSet};
use aeroguard_prognostics::rul::RulOptions;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn train() -> Vec<Unit> {
    let dir = data::dir(DataSet::Cmapss).unwrap_or_else(|e| panic!("{e}"));
    cmapss::read(&dir.join("train_FD001.txt")).unwrap()
}

#[test]
fn cross_validation_holds_the_targets() {
    let units = train();
    assert_eq!(
        (units.len(), units.iter().map(|u| u.rows.nrows()).sum::<usize>()),
        (100, 20631)
    );
    let report = cmapss::cross_validate(&units, 5, 2008, &RulOptions::default()).unwrap();
    let all = &report.all;
    assert_eq!((all.engines, all.cycles.count, all.cuts.count), (100, 20631, 100));
    assert!(
        all.cycles.rmse() <= 13.0,
        "RMSE {:.2} over every held-out cycle",
        all.cycles.rmse()
    );
    let coverage = all.cycles.coverage();
    assert!(
        (0.87..=0.93).contains(&coverage),
        "the 90 % interval covers {:.1} %",
        100.0 * coverage
    );
    for (i, f) in report.folds.iter().enumerate() {
        assert!(
            f.cycles.rmse() <= 15.0,
            "fold {}: RMSE {:.2}",
            i + 1,
            f.cycles.rmse()
        );
        assert!(
            f.cycles.coverage() >= 0.8,
            "fold {}: coverage {:.3}",
            i + 1,
            f.cycles.coverage()
        );
    }
}

/// Writes `units` in NASA's layout, each cut at a random cycle, and the lives they had left.
fn nasa_test_files(units: &[Unit], rng: &mut Xoshiro256PlusPlus) -> (String, String) {
    let (mut rows, mut lives) = (String::new(), String::new());
    for (n, u) in units.iter().enumerate() {
        let keep = rng.gen_range(20..u.rows.nrows());
        for (c, row) in u.rows.rows().into_iter().take(keep).enumerate() {
            let values: Vec<String> = row.iter().map(|x| format!("{x}")).collect();
            let _ = writeln!(rows, "{} {} {}", n + 1, c + 1, values.join(" "));
        }
        let _ = writeln!(lives, "{}", u.rows.nrows() - keep);
    }
    (rows, lives)
}

#[test]
fn a_file_in_nasa_test_layout_scores_at_each_engines_last_cycle() {
    let units = train();
    let (fit, held) = units.split_at(80);
    let (rows, lives) = nasa_test_files(held, &mut Xoshiro256PlusPlus::seed_from_u64(5));
    let dir = std::env::temp_dir().join(format!("aeroguard-cmapss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.txt"), rows).unwrap();
    std::fs::write(dir.join("rul.txt"), lives).unwrap();
    let test = cmapss::read(&dir.join("test.txt")).unwrap();
    let truth = cmapss::read_rul(&dir.join("rul.txt")).unwrap();
    let t = cmapss::score_test(fit, &test, &truth, &RulOptions::default()).unwrap();
    assert_eq!(t.count, 20);
    assert!(
        t.rmse() <= 16.0,
        "RMSE {:.2} at the engines' last cycles",
        t.rmse()
    );
    assert!(t.coverage() >= 0.75, "coverage {:.2}", t.coverage());
    let short = cmapss::score_test(fit, &test, &truth[..19], &RulOptions::default()).unwrap_err();
    assert_eq!(
        short.to_string(),
        "remaining lives (one per test engine): expected 20, got 19"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_files_are_refused_with_their_line() {
    let e = cmapss::parse("t.txt", "1 1 0.5\n").unwrap_err();
    assert_eq!(e.to_string(), "t.txt: line 1: 3 columns, expected 26");
    let row = |u: u32, c: u32, v: &str| format!("{u} {c} {}\n", vec![v; 24].join(" "));
    let e = cmapss::parse("t.txt", &(row(1, 1, "1") + &row(1, 3, "1"))).unwrap_err();
    assert_eq!(e.to_string(), "t.txt: line 2: unit 1: cycle 3 where 2 was due");
    let e = cmapss::parse("t.txt", &(row(2, 1, "1") + &row(1, 1, "1"))).unwrap_err();
    assert_eq!(e.to_string(), "t.txt: line 2: unit 1 after unit 2");
    let e = cmapss::parse("t.txt", &row(1, 1, "nan")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.txt: line 1: column 3 is \"nan\", not a finite number"
    );
    let e = cmapss::parse_rul("r.txt", "12\n-3\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "r.txt: line 2: \"-3\" is not a remaining life (a number of cycles, 0 or more)"
    );
    assert!(cmapss::parse("t.txt", "\n").is_err());
}
