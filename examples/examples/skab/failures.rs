//! The member-failure table: the recommended ensemble with each member silent (never votes) or stuck (always
//! votes) from the first test row on, in sample (the recipe's own setting) and leaving one folder out (each
//! folder scored with the setting chosen on the others, on healthy members).

use aeroguard_eval::cv::{Scored, Setting};
use aeroguard_eval::skab::SkabFile;
use aeroguard_eval::{Evaluation, Summary};
use aeroguard_examples::Result;
use serde::Serialize;

use super::replay::{self, Failure};

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRow {
    /// The broken member (`none`: every member works).
    pub member: String,
    /// `none`, `silent` or `stuck`.
    pub failure: &'static str,
    /// The recipe's own setting on every file.
    pub in_sample: Summary,
    /// Each folder with the setting chosen on the others.
    pub cv_folder: Summary,
    /// For a stuck member: rows from the first test row until it was left out, the largest over the files
    /// that flagged it (`None` when none did).
    pub flagged_within: Option<usize>,
    /// For a stuck member: files on which it was never flagged.
    pub never_flagged: usize,
}

/// Every case: no failure, then each member silent and stuck.
pub fn table(
    files: &[SkabFile],
    scored: &[Scored],
    names: &[String],
    recipe_setting: &Setting,
    folder_settings: &[(String, Setting)],
    alone_window: usize,
) -> Result<Vec<FailureRow>> {
    let mut cases = vec![("none".to_string(), "none", Failure::None)];
    for (i, n) in names.iter().enumerate() {
        cases.push((n.clone(), "silent", Failure::Silent(i)));
        cases.push((n.clone(), "stuck", Failure::Stuck(i)));
    }
    let mut out = Vec::with_capacity(cases.len());
    for (member, kind, failure) in cases {
        let label = format!("{member} {kind}");
        let (mut inside, mut held_out) = (Evaluation::new(&label), Evaluation::new(&label));
        let (mut within, mut never) = (None::<usize>, 0usize);
        for (f, s) in files.iter().zip(scored) {
            let r = replay::vote(s, names, recipe_setting, failure, alone_window)?;
            inside.add(f, &r.alarms[s.test_from..])?;
            let setting = folder_settings
                .iter()
                .find(|(folder, _)| *folder == s.folder)
                .map_or(*recipe_setting, |(_, st)| *st);
            let r = replay::vote(s, names, &setting, failure, alone_window)?;
            held_out.add(f, &r.alarms[s.test_from..])?;
            if kind == "stuck" {
                match r.flagged_after {
                    Some(rows) => within = Some(within.map_or(rows, |w| w.max(rows))),
                    None => never += 1,
                }
            }
        }
        out.push(FailureRow {
            member,
            failure: kind,
            in_sample: inside.summary(),
            cv_folder: held_out.summary(),
            flagged_within: within,
            never_flagged: never,
        });
    }
    Ok(out)
}

/// Prints the table.
pub fn print(rows: &[FailureRow]) {
    println!(
        "\nMember failures (from the first test row on: silent never votes, stuck always votes; both keep their\n\
         scores moving, so only the alarming-alone diagnosis can find a stuck member). In sample: the recipe's\n\
         own setting; leave one folder out: each folder with the setting chosen on the others."
    );
    println!(
        "  {:<20} {:<7} {:>9} {:>9} {:>9} {:>9} {:>20}",
        "member", "failure", "F1 in", "FAR in %", "F1 cv", "FAR cv %", "flagged within"
    );
    for r in rows {
        let flagged = match (r.failure, r.flagged_within, r.never_flagged) {
            ("stuck", Some(rows), 0) => format!("{rows} rows"),
            ("stuck", Some(rows), never) => format!("{rows} rows, {never} never"),
            ("stuck", None, never) => format!("{never} files never"),
            _ => String::new(),
        };
        println!(
            "  {:<20} {:<7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>20}",
            r.member, r.failure, r.in_sample.f1, r.in_sample.far, r.cv_folder.f1, r.cv_folder.far, flagged
        );
    }
}
