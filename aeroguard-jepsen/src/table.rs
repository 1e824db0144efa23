//! The report of a run as people read it: the checker's figures, a row per scenario, the violations.

use super::Summary;

impl Summary {
    /// The report as a table, then the violations.
    pub fn table(&self) -> String {
        let mut out = format!(
            "backend {}: {} operations, {} grants, {} appends, {} puts, {} config writes acknowledged\n",
            self.backend,
            self.report.operations,
            self.report.grants,
            self.report.appends,
            self.report.puts,
            self.report.config_writes
        );
        let r = &self.report;
        out.push_str(&format!(
            "read back after the run: {} points in the history ({} whose append no worker logged); unknown \
             outcomes resolved: {} of {} appends stored, {} of {} puts delivered; queue: {} items delivered twice, \
             {} taken out of their producer's order\n",
            r.final_points,
            r.unlogged_points,
            r.unknown_appends.1,
            r.unknown_appends.0,
            r.unknown_puts.1,
            r.unknown_puts.0,
            r.queue_duplicates,
            r.queue_reordered
        ));
        out.push_str(&format!(
            "{:<22} {:>8} {:>7} {:>10} {:>16} {:>11} {:>10} {:>10}\n",
            "scenario",
            "ops",
            "faults",
            "failovers",
            "server failovers",
            "violations",
            "stall p50",
            "stall p99"
        ));
        for r in &self.rows {
            out.push_str(&format!(
                "{:<22} {:>8} {:>7} {:>10} {:>16} {:>11} {:>8.0}ms {:>8.0}ms\n",
                r.scenario,
                r.operations,
                r.faults,
                r.failovers,
                r.server_failovers,
                r.violations,
                r.stall_p50,
                r.stall_p99
            ));
        }
        let total: usize = self.rows.iter().map(|r| r.failovers + r.server_failovers).sum();
        out.push_str(&format!(
            "failovers in all (leader + server): {total}; violations in all: {}\n",
            self.report.violations.len()
        ));
        for v in &self.report.violations {
            out.push_str(&format!("VIOLATION {v}\n"));
        }
        out
    }
}
