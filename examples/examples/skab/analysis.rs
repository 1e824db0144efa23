//! Deciding votes and error correlations of the recommended ensemble's members.

use aeroguard_detect::{Verdict, Vote};

/// Deciding votes and error correlation of the recommended ensemble's members, pooled over test rows.
#[derive(Default)]
pub struct Analysis {
    names: Vec<String>,
    deciding: Vec<usize>,
    decided_rows: usize,
    /// Per member, per pooled test row: whether its vote was wrong.
    errors: Vec<Vec<bool>>,
}

impl Analysis {
    pub fn add(&mut self, verdicts: &[Verdict], labels: &[bool]) {
        let Some(first) = verdicts.first() else { return };
        if self.names.is_empty() {
            self.names = first.members.iter().map(|m| m.name.clone()).collect();
            self.deciding = vec![0; self.names.len()];
            self.errors = vec![Vec::new(); self.names.len()];
        }
        for (v, &label) in verdicts.iter().zip(labels) {
            let mut decided = false;
            for (i, r) in v.members.iter().enumerate() {
                let yes = r.vote == Vote::Yes;
                // Deciding: without this member's vote (or with it flipped) the row's vote would go the other way.
                let pivotal = if yes {
                    v.yes - r.weight < v.required - 1e-9
                } else {
                    v.yes + r.weight >= v.required - 1e-9
                };
                if pivotal && v.passed == yes {
                    self.deciding[i] += 1;
                    decided = true;
                }
                self.errors[i].push(yes != label);
            }
            self.decided_rows += usize::from(decided);
        }
    }

    pub fn print(&self) {
        let rows = self.errors.first().map_or(0, Vec::len);
        println!(
            "\nDeciding votes of the recommended ensemble ({rows} test rows; a member decides a row when the"
        );
        println!(
            "row's vote would have gone the other way without it): {} rows had a deciding member",
            self.decided_rows
        );
        for (name, n) in self.names.iter().zip(&self.deciding) {
            println!(
                "  {name:<20} {n:>6} rows ({:.1} %)",
                100.0 * *n as f64 / rows.max(1) as f64
            );
        }
        println!(
            "\nCorrelation of the members' errors (phi coefficient of 'vote differs from the label', per row):"
        );
        print!("{:<20}", "");
        for n in &self.names {
            print!(" {:>9}", n.chars().take(9).collect::<String>());
        }
        println!();
        for (i, a) in self.errors.iter().enumerate() {
            print!("{:<20}", self.names[i]);
            for b in &self.errors {
                print!(" {:>9.2}", phi(a, b));
            }
            println!();
        }
    }
}

fn phi(a: &[bool], b: &[bool]) -> f64 {
    let (mut n11, mut n10, mut n01, mut n00) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        match (x, y) {
            (true, true) => n11 += 1.0,
            (true, false) => n10 += 1.0,
            (false, true) => n01 += 1.0,
            (false, false) => n00 += 1.0,
        }
    }
    let d = ((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)).sqrt();
    if d > 0.0 { (n11 * n00 - n10 * n01) / d } else { 0.0 }
}
