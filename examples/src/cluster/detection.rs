//! What the cluster's leader watches for beyond the sensors' agreement: the ensemble it votes with, and its
//! alert rules.

use std::time::Duration;

use aeroguard_consensus::Error;
use aeroguard_detect::EnsembleRecipe;

use super::node::Plan;

/// The ensemble for this process: the recommended recipe's members, with a short window and tighter limits.
/// The default recipe is tuned to SKAB's one-second rows (a 15-row window, robust z 25), where a four-round
/// upset here would hardly move a window mean; these rows come every 75-150 ms with little noise.
pub(crate) fn recipe() -> EnsembleRecipe {
    EnsembleRecipe {
        window: 3,
        z: 8.0,
        forest_z: 3.0,
        rules: aeroguard_detect::LearnRules {
            quantiles: (0.0, 1.0),
            margin: 1.0,
            rows: 2,
        },
        k_of: 2,
        of_window: 3,
        ..EnsembleRecipe::default()
    }
}

/// The leader's alert rules: the ensemble's alarm held for 200 ms (two rounds at the default period), kept
/// 150 ms after it clears; and the fused flow below 9 m3/h for 200 ms.
pub(crate) fn alerts(plan: &Plan) -> Result<aeroguard_detect::alert::Alerts, Error> {
    use aeroguard_detect::alert::{AlertRule, Alerts, Condition, Severity};
    let ms = Duration::from_millis;
    let rules = [
        AlertRule::new("process-anomaly", Condition::Anomaly).map(|r| {
            r.with_for(ms(200))
                .with_keep_firing_for(ms(150))
                .with_severity(Severity::Critical)
                .with_label("run", &plan.run)
        }),
        AlertRule::new("low-flow", Condition::Below(9.0)).map(|r| r.with_for(ms(200))),
    ];
    let rules = rules.into_iter().collect::<Result<Vec<_>, _>>();
    rules.and_then(Alerts::new).map_err(|e| Error::Backend {
        backend: "detect",
        operation: "alert rules",
        message: e.to_string(),
    })
}
