//! What the cluster's leader watches for beyond the sensors' agreement: the ensemble it votes with (its alert
//! rules are in `rules.toml`, see `alerting`).

use aeroguard_detect::EnsembleRecipe;

/// The ensemble for this process: the recommended recipe's members, with a short window and tighter limits.
/// The default recipe is tuned to SKAB's one-second rows (a 15-row window, robust z 25), where a four-round
/// upset here would hardly move a window mean; these rows come every 75-150 ms with little noise.
pub(crate) fn recipe() -> EnsembleRecipe {
    let mut recipe = EnsembleRecipe::default();
    recipe.inputs.window = 3;
    recipe.classic.kmeans_z = 8.0;
    recipe.classic.forest_z = 3.0;
    recipe.classic.rules = aeroguard_detect::LearnRules {
        quantiles: (0.0, 1.0),
        margin: 1.0,
        rows: 2,
    };
    recipe.voting.k_of = 2;
    recipe.voting.of_window = 3;
    recipe
}
