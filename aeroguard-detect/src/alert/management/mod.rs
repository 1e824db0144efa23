//! Alarm management in the manner of ISA-18.2 and EEMUA 191: what the operators see of the alert transitions,
//! measured. [`AlarmLog`] takes each transition and says whether it reached the operators (annunciated),
//! was held back (shelved by someone, or suppressed as chattering, each on the record), and keeps the figures
//! an alarm-management review asks for ([`AlarmKpis`]): alarms per operator per 10 minutes, floods (more than
//! 10 in 10 minutes), chattering alarms (3 or more activations in 60 s), stale ones (active over 24 hours) and
//! standing ones (active now).
//!
//! ```
//! use std::time::Duration;
//! use aeroguard_core::Timestamp;
//! use aeroguard_detect::alert::{AlarmLog, AlertEvent, AlertStatus, Outcome, ManagementOptions};
//! let mut log = AlarmLog::new(ManagementOptions::default())?;
//! let at = |s: i64| Timestamp::from_millis(1_700_000_000_000 + s * 1000);
//! let event = |status, s| AlertEvent {
//!     rule: "high-vibration".into(), series: "pump-2".into(), status, at: at(s), since: at(s),
//!     severity: Default::default(), labels: Default::default(), value: 9.1,
//! };
//! // It fires and clears three times in a minute: the third activation is chattering, held back.
//! let mut outcomes = Vec::new();
//! for s in [0, 20, 40] {
//!     outcomes.push(log.record(&event(AlertStatus::Firing, s)));
//!     log.record(&event(AlertStatus::Resolved, s + 5));
//! }
//! assert_eq!(outcomes[..2], [Outcome::Annunciated, Outcome::Annunciated]);
//! assert_eq!(outcomes[2], Outcome::Suppressed);
//! let k = log.kpis(at(50));
//! assert_eq!((k.annunciated, k.chattering.len(), k.suppressed), (2, 1, 1));
//! # Ok::<(), aeroguard_detect::Error>(())
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use aeroguard_core::Timestamp;

use super::{AlertEvent, AlertStatus};
use crate::{Error, Result};

mod records;

pub use records::{AlarmKpis, AuditRecord, ManagementOptions, Outcome, SuppressedRecord};

/// The most records kept in the audit and suppression logs (the oldest go first).
pub const MAX_RECORDS: usize = 10_000;
/// The most alarms (rule and series) followed.
pub const MAX_ALARMS: usize = 100_000;
/// The longest a shelf may last.
pub const MAX_SHELVE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Default)]
struct Alarm {
    active_since: Option<Timestamp>,
    activations: VecDeque<Timestamp>,
    shelved: Option<(Timestamp, String)>,
}

/// The alarm log: transitions in, what the operators see and the review's figures out.
#[derive(Debug, Clone)]
pub struct AlarmLog {
    options: ManagementOptions,
    alarms: BTreeMap<(String, String), Alarm>,
    annunciations: VecDeque<Timestamp>,
    in_flood: bool,
    floods: u64,
    suppressed_total: u64,
    audit: VecDeque<AuditRecord>,
    suppressed: VecDeque<SuppressedRecord>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T) {
    if q.len() == MAX_RECORDS {
        q.pop_front();
    }
    q.push_back(item);
}

impl AlarmLog {
    /// A log with `options` (checked).
    pub fn new(options: ManagementOptions) -> Result<AlarmLog> {
        let bad = |name, value: String| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: "must be positive",
            })
        };
        if options.rate_window.is_zero() || options.chatter_window.is_zero() || options.stale_after.is_zero()
        {
            return bad(
                "window",
                format!("{:?}", options.rate_window.min(options.chatter_window)),
            );
        }
        if options.chatter_count < 2 || options.operators == 0 || options.flood_above == 0 {
            return bad("chatter_count, operators or flood_above", format!("{options:?}"));
        }
        Ok(AlarmLog {
            options,
            alarms: BTreeMap::new(),
            annunciations: VecDeque::new(),
            in_flood: false,
            floods: 0,
            suppressed_total: 0,
            audit: VecDeque::new(),
            suppressed: VecDeque::new(),
        })
    }

    /// Takes one transition and says what became of it.
    pub fn record(&mut self, e: &AlertEvent) -> Outcome {
        self.expire(e.at);
        let key = (e.rule.clone(), e.series.clone());
        if !self.alarms.contains_key(&key) && self.alarms.len() >= MAX_ALARMS {
            return Outcome::Ignored;
        }
        let chatter = ms(self.options.chatter_window);
        let alarm = self.alarms.entry(key).or_default();
        match e.status {
            AlertStatus::Pending => Outcome::Ignored,
            AlertStatus::Resolved => {
                alarm.active_since = None;
                Outcome::Cleared
            }
            AlertStatus::Firing => {
                alarm.active_since = Some(e.since.min(e.at));
                alarm.activations.push_back(e.at);
                while alarm
                    .activations
                    .front()
                    .is_some_and(|t| e.at.as_millis() - t.as_millis() > chatter)
                {
                    alarm.activations.pop_front();
                }
                let activations = alarm.activations.len();
                if alarm.shelved.is_some() {
                    Outcome::Shelved
                } else if self.options.suppress_chattering && activations >= self.options.chatter_count {
                    self.suppressed_total += 1;
                    let record = SuppressedRecord {
                        at: e.at,
                        rule: e.rule.clone(),
                        series: e.series.clone(),
                        activations,
                    };
                    push_bounded(&mut self.suppressed, record);
                    Outcome::Suppressed
                } else {
                    self.annunciations.push_back(e.at);
                    self.rate_at(e.at);
                    Outcome::Annunciated
                }
            }
        }
    }

    /// Prunes the rate window at `now` and follows the flood state.
    fn rate_at(&mut self, now: Timestamp) -> usize {
        let window = ms(self.options.rate_window);
        while self
            .annunciations
            .front()
            .is_some_and(|t| now.as_millis() - t.as_millis() >= window)
        {
            self.annunciations.pop_front();
        }
        let n = self.annunciations.len();
        let flood = n > self.options.flood_above;
        if flood && !self.in_flood {
            self.floods += 1;
        }
        self.in_flood = flood;
        n
    }

    /// Shelves an alarm until `until` (at most [`MAX_SHELVE`] from `now`): its activations are held back
    /// until then. `by` and `reason` go on the audit record.
    pub fn shelve(
        &mut self,
        rule: &str,
        series: &str,
        until: Timestamp,
        by: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<()> {
        if until <= now || until.as_millis() - now.as_millis() > ms(MAX_SHELVE) {
            let value = format!("{} ms from now", until.as_millis() - now.as_millis());
            return Err(Error::InvalidParameter {
                name: "until",
                value,
                reason: "must be after now and within 30 days",
            });
        }
        check_text("by", by)?;
        check_text("reason", reason)?;
        let key = (rule.to_string(), series.to_string());
        if !self.alarms.contains_key(&key) && self.alarms.len() >= MAX_ALARMS {
            return Err(Error::InvalidParameter {
                name: "alarm",
                value: rule.into(),
                reason: "too many alarms followed",
            });
        }
        self.alarms.entry(key).or_default().shelved = Some((until, by.to_string()));
        self.log(now, rule, series, by, "shelved", Some(until), reason);
        Ok(())
    }

    /// Takes an alarm off its shelf.
    pub fn unshelve(
        &mut self,
        rule: &str,
        series: &str,
        by: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<()> {
        check_text("by", by)?;
        check_text("reason", reason)?;
        let alarm = self.alarms.get_mut(&(rule.to_string(), series.to_string()));
        match alarm.and_then(|a| a.shelved.take()) {
            Some(_) => {
                self.log(now, rule, series, by, "unshelved", None, reason);
                Ok(())
            }
            None => Err(Error::InvalidParameter {
                name: "alarm",
                value: format!("{rule} on {series}"),
                reason: "is not shelved",
            }),
        }
    }

    fn expire(&mut self, now: Timestamp) {
        let mut expired = Vec::new();
        for ((rule, series), alarm) in &mut self.alarms {
            if alarm.shelved.as_ref().is_some_and(|(until, _)| *until <= now) {
                let until = alarm.shelved.take().map(|s| s.0);
                expired.push((rule.clone(), series.clone(), until));
            }
        }
        for (rule, series, until) in expired {
            self.log(
                now,
                &rule,
                &series,
                "expiry",
                "expired",
                until,
                "the shelf ran out",
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        at: Timestamp,
        rule: &str,
        series: &str,
        by: &str,
        action: &str,
        until: Option<Timestamp>,
        reason: &str,
    ) {
        let record = AuditRecord {
            at,
            rule: rule.into(),
            series: series.into(),
            by: by.into(),
            action: action.into(),
            until,
            reason: reason.into(),
        };
        push_bounded(&mut self.audit, record);
    }

    /// The figures at `now` (shelves past their time expire first).
    pub fn kpis(&mut self, now: Timestamp) -> AlarmKpis {
        self.expire(now);
        let annunciated = self.rate_at(now);
        let chatter = ms(self.options.chatter_window);
        let stale = ms(self.options.stale_after);
        let keys = |f: &dyn Fn(&Alarm) -> bool| -> Vec<(String, String)> {
            self.alarms
                .iter()
                .filter(|(_, a)| f(a))
                .map(|(k, _)| k.clone())
                .collect()
        };
        let chattering = keys(&|a| {
            a.activations
                .iter()
                .filter(|t| now.as_millis() - t.as_millis() <= chatter)
                .count()
                >= self.options.chatter_count
        });
        let stale = keys(&|a| {
            a.active_since
                .is_some_and(|s| now.as_millis() - s.as_millis() > stale)
        });
        AlarmKpis {
            annunciated,
            per_operator: annunciated as f64 / self.options.operators as f64,
            in_flood: self.in_flood,
            floods: self.floods,
            chattering,
            stale,
            standing: self.alarms.values().filter(|a| a.active_since.is_some()).count(),
            shelved: self.alarms.values().filter(|a| a.shelved.is_some()).count(),
            suppressed: self.suppressed_total,
        }
    }

    /// The audit record: shelving, unshelving and expiry, oldest first (the last [`MAX_RECORDS`]).
    pub fn audit(&self) -> impl Iterator<Item = &AuditRecord> {
        self.audit.iter()
    }

    /// The activations held back as chattering, oldest first (the last [`MAX_RECORDS`]).
    pub fn suppressed(&self) -> impl Iterator<Item = &SuppressedRecord> {
        self.suppressed.iter()
    }
}

fn check_text(name: &'static str, text: &str) -> Result<()> {
    if text.trim().is_empty() || text.len() > 256 {
        let value = text.chars().take(64).collect();
        return Err(Error::InvalidParameter {
            name,
            value,
            reason: "must be 1 to 256 bytes, not blank",
        });
    }
    Ok(())
}
