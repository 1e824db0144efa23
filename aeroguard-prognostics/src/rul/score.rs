//! How estimates of remaining life are scored: RMSE, NASA's asymmetric score (PHM08: late estimates cost more
//! than early ones), and the intervals' coverage and mean width.

/// NASA's score of one estimate: `exp(-d/13) - 1` when early (`d = estimate - truth < 0`), `exp(d/10) - 1` when
/// late.
///
/// ```
/// use aeroguard_prognostics::rul::score::nasa;
/// assert_eq!(nasa(50.0, 50.0), 0.0);
/// assert!(nasa(60.0, 50.0) > nasa(40.0, 50.0)); // ten cycles late costs more than ten early
/// ```
pub fn nasa(estimate: f64, truth: f64) -> f64 {
    let d = estimate - truth;
    if d < 0.0 {
        (-d / 13.0).exp() - 1.0
    } else {
        (d / 10.0).exp() - 1.0
    }
}

/// Sums of a set of scored estimates.
///
/// ```
/// use aeroguard_prognostics::rul::score::Tally;
/// let mut t = Tally::default();
/// t.add(10.0, 12.0, 5.0, 15.0);
/// t.add(20.0, 30.0, 15.0, 25.0);
/// assert_eq!(t.count, 2);
/// assert!((t.rmse() - (52.0f64).sqrt()).abs() < 1e-12);
/// assert_eq!(t.coverage(), 0.5);
/// assert_eq!(t.mean_width(), 10.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Estimates scored.
    pub count: usize,
    /// Sum of squared errors.
    pub squared: f64,
    /// Sum of NASA's scores.
    pub nasa: f64,
    /// Outcomes inside their interval.
    pub covered: usize,
    /// Sum of the intervals' widths.
    pub width: f64,
}

impl Tally {
    /// Adds one estimate with its interval and the outcome.
    pub fn add(&mut self, estimate: f64, truth: f64, low: f64, high: f64) {
        self.count += 1;
        self.squared += (estimate - truth).powi(2);
        self.nasa += nasa(estimate, truth);
        self.covered += usize::from(low <= truth && truth <= high);
        self.width += high - low;
    }

    /// Adds another tally's sums.
    pub fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.squared += other.squared;
        self.nasa += other.nasa;
        self.covered += other.covered;
        self.width += other.width;
    }

    /// Root mean squared error (NaN when empty).
    pub fn rmse(&self) -> f64 {
        (self.squared / self.count as f64).sqrt()
    }

    /// The share of outcomes inside their interval.
    pub fn coverage(&self) -> f64 {
        self.covered as f64 / self.count as f64
    }

    /// The intervals' mean width.
    pub fn mean_width(&self) -> f64 {
        self.width / self.count as f64
    }
}
