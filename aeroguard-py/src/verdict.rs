//! What the ensemble decided on a row, with every member's vote record, and whether the vote's integrity holds.

use aeroguard_detect::Vote;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One member's vote on a row.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct MemberRecord {
    /// The member's name.
    pub name: String,
    /// Its score (None if it abstained or failed).
    pub score: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// Its weight.
    pub weight: f64,
    /// `"yes"`, `"no"`, `"abstained"` or `"failed"`.
    pub vote: String,
    /// Why it abstained or failed.
    pub reason: Option<String>,
    /// Why its diagnosis left it out of this row's vote (frozen, non-finite, alarming alone), or None.
    pub fault: Option<String>,
    /// For a yes vote on a streamed row (`update`): the columns that drove its score as `(column, share)`,
    /// the largest share first; empty when the member cannot tell, and for `decide`.
    pub drivers: Vec<(usize, f64)>,
}

#[pymethods]
impl MemberRecord {
    fn __repr__(&self) -> String {
        let score = self.score.map_or_else(|| "None".to_string(), |s| s.to_string());
        format!(
            "MemberRecord({} {} score={score} threshold={})",
            self.name, self.vote, self.threshold
        )
    }
}

/// The ensemble's decision on a row, with every member's record.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The alarm, after the temporal rule.
    pub alarm: bool,
    /// Whether this row's vote alone reached M.
    pub passed: bool,
    /// Weight of the yes votes.
    pub yes: f64,
    /// Weight needed now (M, or the counted members' whole weight when less).
    pub required: f64,
    /// Weight of the members counted on this row.
    pub available: f64,
    /// Whether a member failed or was left out as unhealthy.
    pub degraded: bool,
    /// Every member's record.
    pub members: Vec<MemberRecord>,
}

#[pymethods]
impl Verdict {
    /// The vote record as a dict (JSON-like), to store with the point: `History.append(series, token,
    /// [(at_ms, value, v.alarm, v.record())], owner=...)`.
    fn record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("alarm", self.alarm)?;
        d.set_item("passed", self.passed)?;
        d.set_item("yes", self.yes)?;
        d.set_item("required", self.required)?;
        d.set_item("available", self.available)?;
        d.set_item("degraded", self.degraded)?;
        let mut members = Vec::with_capacity(self.members.len());
        for m in &self.members {
            let r = PyDict::new(py);
            r.set_item("name", &m.name)?;
            r.set_item("vote", &m.vote)?;
            r.set_item("score", m.score.filter(|s| s.is_finite()))?;
            r.set_item("threshold", m.threshold)?;
            r.set_item("weight", m.weight)?;
            r.set_item("reason", &m.reason)?;
            r.set_item("fault", &m.fault)?;
            members.push(r);
        }
        d.set_item("members", members)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Verdict(alarm={}, yes={}/{})",
            self.alarm, self.yes, self.required
        )
    }
}

pub(crate) fn verdict(v: aeroguard_detect::Verdict) -> Verdict {
    Verdict {
        alarm: v.alarm,
        passed: v.passed,
        yes: v.yes,
        required: v.required,
        available: v.available,
        degraded: v.degraded,
        members: v
            .members
            .into_iter()
            .map(|m| {
                let (vote, reason) = match m.vote {
                    Vote::Yes => ("yes", None),
                    Vote::No => ("no", None),
                    Vote::Abstained(r) => ("abstained", Some(r)),
                    Vote::Failed(r) => ("failed", Some(r)),
                };
                MemberRecord {
                    name: m.name,
                    score: m.score,
                    threshold: m.threshold,
                    weight: m.weight,
                    vote: vote.into(),
                    reason,
                    fault: m.fault.map(|f| f.to_string()),
                    drivers: m.drivers.iter().map(|d| (d.column, d.share)).collect(),
                }
            })
            .collect(),
    }
}

/// Whether one member can force or suppress the ensemble's alarm, what the vote needs now, and how long it was
/// degraded.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct Integrity {
    /// Weight of yes votes needed, as configured.
    pub m: f64,
    /// Total weight of the members.
    pub total: f64,
    /// Members whose weight alone reaches M.
    pub forcing: Vec<String>,
    /// Members without whose weight the others cannot reach M.
    pub suppressing: Vec<String>,
    /// Weight needed now.
    pub effective_m: f64,
    /// Weight of the members counted now.
    pub available: f64,
    /// Members left out now (diagnosed unhealthy, or failed and dropped).
    pub left_out: Vec<String>,
    /// Rows voted on while degraded.
    pub degraded_rows: u64,
    /// Time voted on while degraded, in ms (rows given a time only).
    pub degraded_ms: u64,
    /// No member forces or suppresses the alarm.
    pub holds: bool,
    /// One sentence per member that breaks the integrity.
    pub warnings: Vec<String>,
}

#[pymethods]
impl Integrity {
    fn __repr__(&self) -> String {
        format!(
            "Integrity(holds={}, m={}, total={}, effective_m={}, left_out={:?})",
            if self.holds { "True" } else { "False" },
            self.m,
            self.total,
            self.effective_m,
            self.left_out
        )
    }
}
