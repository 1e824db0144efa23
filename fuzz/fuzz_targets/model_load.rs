//! Model files: `Model::load` and `Voter::load` on any text, then scoring whatever loaded. A damaged or hostile
//! file is an error, never a panic or an allocation that aborts.
#![no_main]

use aeroguard_detect::{FittedDetector, Model, Voter};
use libfuzzer_sys::fuzz_target;
use ndarray::Array2;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut model) = Model::load(text) {
        let width = model.n_features();
        if width <= 64 {
            let x = Array2::from_shape_fn((4, width), |(i, j)| (i * 3 + j) as f64 * 0.1);
            let _ = model.score(x.view());
            for row in x.rows() {
                let _ = model.update(row);
            }
        }
    }
    if let Ok(mut voter) = Voter::<Model>::load(text) {
        let width = voter.members().first().map_or(0, |m| m.n_features());
        if width <= 64 {
            let x = Array2::from_shape_fn((4, width), |(i, j)| (i + j) as f64 * 0.5);
            let _ = voter.decide(x.view());
            for row in x.rows() {
                let _ = voter.update(row);
            }
        }
    }
});
