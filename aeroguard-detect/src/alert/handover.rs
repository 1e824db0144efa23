//! Alerts across a failover: the state a leader writes and its successor restores, and the firing alerts sent
//! again.

use aeroguard_core::Timestamp;

use super::engine::{AlertEvent, AlertState, AlertStatus, Alerts, Track, TrackedAlert, event};
use crate::{Error, Result};

impl Alerts {
    /// The state to carry across a failover (sorted, so equal states compare equal).
    pub fn state(&self) -> AlertState {
        let mut alerts: Vec<TrackedAlert> = self
            .tracks
            .iter()
            .map(|((rule, series), t)| {
                let (since, firing, value) = match *t {
                    Track::Pending { since } => (since, None, None),
                    Track::Firing {
                        since,
                        last_true,
                        value,
                    } => (since, Some(last_true), Some(value).filter(|v| v.is_finite())),
                };
                TrackedAlert {
                    rule: rule.clone(),
                    series: series.clone(),
                    since,
                    firing,
                    value,
                }
            })
            .collect();
        alerts.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        AlertState {
            alerts,
            last: self.last.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    /// Takes over `state` (a predecessor's, read back from the store): its firing alerts go on firing without a
    /// new notification, and resolve here when their condition stops holding. Alerts of rules not in force are
    /// left out. Refused whole if it holds more series than the limit or a series name over 256 bytes.
    pub fn restore(&mut self, state: AlertState) -> Result<()> {
        let series_ok = |s: &str| !s.is_empty() && s.len() <= 256;
        if state.last.len() > self.max_series
            || state.alerts.len() > self.max_series.saturating_mul(self.rules.len().max(1))
        {
            return Err(Error::parameter(
                "state",
                state.last.len(),
                "holds more series than the alerts' limit",
            ));
        }
        if let Some(bad) = state
            .last
            .keys()
            .chain(state.alerts.iter().map(|a| &a.series))
            .find(|s| !series_ok(s))
        {
            return Err(Error::parameter(
                "state",
                bad.chars().take(64).collect::<String>(),
                "series names must be 1 to 256 bytes",
            ));
        }
        self.tracks = state
            .alerts
            .into_iter()
            .filter(|a| self.rules.iter().any(|r| r.name == a.rule))
            .map(|a| {
                let track = match a.firing {
                    None => Track::Pending { since: a.since },
                    Some(last_true) => Track::Firing {
                        since: a.since,
                        last_true,
                        value: a.value.unwrap_or(f64::NAN),
                    },
                };
                ((a.rule, a.series), track)
            })
            .collect();
        self.last = state.last.into_iter().collect();
        Ok(())
    }

    /// Every alert firing now as a firing event at `at` (its `since` and last value kept), sorted by rule and
    /// series: what a leader sends again every [`RESEND_EVERY`](super::RESEND_EVERY), and a new leader at once
    /// after [`restore`](Self::restore), so a receiver that forgets alerts not heard of for a while
    /// (Alertmanager, through `endsAt`) never resolves one that still fires.
    ///
    /// ```
    /// use aeroguard_core::Timestamp;
    /// use aeroguard_detect::alert::{AlertRule, AlertStatus, Alerts, Condition, Sample};
    /// let mut alerts = Alerts::new(vec![AlertRule::new("hot", Condition::Above(90.0))?])?;
    /// alerts.observe("t1", Timestamp::from_millis(1_000), Sample::value(95.0))?;
    /// alerts.observe("t1", Timestamp::from_millis(2_000), Sample::value(97.0))?;
    /// let again = alerts.refresh(Timestamp::from_millis(3_000));
    /// assert_eq!(again.len(), 1);
    /// assert_eq!((again[0].status, again[0].since.as_millis(), again[0].value), (AlertStatus::Firing, 1_000, 97.0));
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn refresh(&self, at: Timestamp) -> Vec<AlertEvent> {
        let mut out: Vec<AlertEvent> = self
            .tracks
            .iter()
            .filter_map(|((rule, series), t)| match *t {
                Track::Firing { since, value, .. } => {
                    let rule = self.rules.iter().find(|r| &r.name == rule)?;
                    Some(event(rule, series, AlertStatus::Firing, at, since, value))
                }
                Track::Pending { .. } => None,
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        out
    }
}
