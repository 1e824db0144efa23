//! Writes the seed corpora the fuzz targets start from (small valid inputs of each kind): run once with
//! `cargo run --example make_seeds` in `fuzz/`, then commit `fuzz/corpus`.

use std::path::Path;

use aeroguard_detect::{
    Detector, IsolationForest, LearnRules, Likelihood, Model, RuleSet, Surprise, Voter,
    neural::{Autoencoder, Lstm},
};
use ndarray::Array2;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("the corpus folder");
    std::fs::write(dir.join(name), bytes).expect("a seed");
}

fn main() {
    let x = Array2::from_shape_fn((120, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + j as f64);
    let forest = IsolationForest::builder()
        .n_estimators(3)
        .seed(1)
        .build()
        .and_then(|d| d.fit(x.view()));
    write(
        "model_load",
        "forest.json",
        Model::from(forest.expect("a forest"))
            .save()
            .expect("json")
            .as_bytes(),
    );
    let ae = Autoencoder::builder()
        .window(2)
        .hidden(4)
        .bottleneck(2)
        .seed(1)
        .build();
    let ae = ae.and_then(|d| d.fit(x.view())).expect("an autoencoder");
    write(
        "model_load",
        "autoencoder.json",
        Model::from(ae).save().expect("json").as_bytes(),
    );
    let lstm = Lstm::builder()
        .hidden(3)
        .sequence(12)
        .warmup(4)
        .seed(1)
        .build()
        .and_then(|d| d.fit(x.view()));
    write(
        "model_load",
        "lstm.json",
        Model::from(lstm.expect("an lstm"))
            .save()
            .expect("json")
            .as_bytes(),
    );
    // A small history, so the seed is small.
    let surprise = Likelihood::builder()
        .average(3)
        .history(20)
        .reestimate(10)
        .build()
        .and_then(|l| Surprise::builder().likelihood(l).build())
        .and_then(|d| d.fit(x.view()));
    write(
        "model_load",
        "surprise.json",
        Model::from(surprise.expect("a surprise detector"))
            .save()
            .expect("json")
            .as_bytes(),
    );
    let rules = RuleSet::learn(x.view(), LearnRules::default()).and_then(|r| r.fit(x.view()));
    write(
        "model_load",
        "rules.json",
        Model::from(rules.expect("rules"))
            .save()
            .expect("json")
            .as_bytes(),
    );
    // A small ensemble (the recommended one holds 300 trees: a slow seed).
    let members: Vec<Model> = ["forest.json", "rules.json"]
        .iter()
        .map(|f| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/model_load");
            Model::load(&std::fs::read_to_string(dir.join(f)).expect("a seed")).expect("a model")
        })
        .collect();
    let voter = Voter::builder(members)
        .m(1.0)
        .k_of_window(2, 3)
        .build()
        .expect("an ensemble");
    write(
        "model_load",
        "ensemble.json",
        voter.save().expect("json").as_bytes(),
    );

    let mut csv = String::from(
        "datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;Volume Flow RateRMS;anomaly;changepoint\n",
    );
    for i in 0..6 {
        csv.push_str(&format!(
            "2020-03-09 10:14:{:02};0.02;0.04;0.7;0.05;71.{i};25.{i};229.3;32.0;{};0\n",
            30 + i,
            u8::from(i > 3)
        ));
    }
    write("csv_load", "skab.csv", csv.as_bytes());

    write(
        "payloads",
        "announcement.json",
        br#"{"round":7,"token":8589934593,"leader":"n1","opened_at":1700000000000}"#,
    );
    write(
        "payloads",
        "sampling.json",
        br#"{"period_ms":150,"sensors":["p","t","f"]}"#,
    );
    write(
        "payloads",
        "payload.json",
        br#"{"unit":"bar","rack":3,"tags":["a","b"]}"#,
    );
    write(
        "payloads",
        "alert-rules.toml",
        b"[[rule]]\nname = \"pump-hot\"\nabove = 90.0\nfor = \"2m\"\nkeep_firing_for = \"30s\"\nseverity = \"critical\"\nlabels = { team = \"ops\" }\n\n[[rule]]\nname = \"pump-anomaly\"\nanomaly = true\n",
    );

    let ingest = r#"{"series":"pump-1","token":1,"readings":[{"at":1700000000000,"values":[4.01,60.2,12.3]},{"at":1700000001000,"values":[4.02,60.1,12.4]}]}"#;
    write("ingest", "ingest", format!("\x00\n{ingest}").as_bytes());
    write("ingest", "ingest-no-key", format!("\u{80}\n{ingest}").as_bytes());
    write("ingest", "verdicts", b"\x02series=pump-1&limit=5\n");
    write(
        "ingest",
        "history",
        b"\x03series=pump-1&from=0&to=1700000005000\n",
    );
    write("ingest", "metrics", b"\x04\n");
}
