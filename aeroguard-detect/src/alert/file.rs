//! Alert rules from a TOML file ([`parse_rules`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{AlertRule, Condition, MAX_RULES, Severity};
use crate::{Error, Result};

/// The largest rule file read.
pub const MAX_RULE_FILE_BYTES: usize = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    above: Option<f64>,
    below: Option<f64>,
    anomaly: Option<bool>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    severity: Option<Severity>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses `5s`, `2m`, `1h30m`, `500ms`, `1d` (a sum of integer amounts with units).
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let millis = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        total = total.checked_add(Duration::from_millis(amount.checked_mul(millis)?))?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn convert(raw: RawRule) -> std::result::Result<AlertRule, String> {
    let condition = match (raw.above, raw.below, raw.anomaly) {
        (Some(level), None, None | Some(false)) => Condition::Above(level),
        (None, Some(level), None | Some(false)) => Condition::Below(level),
        (None, None, Some(true)) => Condition::Anomaly,
        _ => {
            return Err(
                "give exactly one condition: `above = LEVEL`, `below = LEVEL` or `anomaly = true`".into(),
            );
        }
    };
    let duration = |field: &str, v: Option<String>| -> std::result::Result<Duration, String> {
        match v {
            None => Ok(Duration::ZERO),
            Some(s) => parse_duration(&s).ok_or_else(|| {
                format!("`{field} = {s:?}` is not a duration like \"30s\", \"2m\" or \"1h30m\"")
            }),
        }
    };
    let mut rule = AlertRule::new(&raw.name, condition)
        .map_err(|e| e.to_string())?
        .with_for(duration("for", raw.for_)?)
        .with_keep_firing_for(duration("keep_firing_for", raw.keep_firing_for)?)
        .with_severity(raw.severity.unwrap_or_default());
    rule.labels = raw.labels;
    rule.validate().map_err(|e| e.to_string())?;
    Ok(rule)
}

/// Parses a rule file. Errors name the line and what is wrong there ([`Error::RuleFile`]); nothing of a bad
/// file is kept: it is refused whole.
///
/// ```toml
/// [[rule]]
/// name = "pump-hot"
/// above = 90.0                # or `below = 5.0`, or `anomaly = true` (the ensemble's verdict)
/// for = "2m"                  # how long it must hold: ms, s, m, h, d, combined as in "1m30s"
/// keep_firing_for = "30s"
/// severity = "critical"       # info, warning (the default) or critical
/// labels = { team = "ops" }
/// ```
///
/// ```
/// use aeroguard_detect::alert::parse_rules;
/// let rules = parse_rules("[[rule]]\nname = \"hot\"\nabove = 90.0\nfor = \"2m\"\n")?;
/// assert_eq!(rules[0].for_, std::time::Duration::from_secs(120));
/// let err = parse_rules("[[rule]]\nname = \"hot\"\n\nabove = 90.0\nfor = \"two minutes\"\n").unwrap_err();
/// assert!(err.to_string().starts_with("alert rules, line 1:"), "{err}");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
pub fn parse_rules(text: &str) -> Result<Vec<AlertRule>> {
    if text.len() > MAX_RULE_FILE_BYTES {
        return Err(Error::RuleFile {
            line: 0,
            reason: format!(
                "{} bytes is over the {MAX_RULE_FILE_BYTES}-byte limit",
                text.len()
            ),
        });
    }
    let file: RawFile = toml::from_str(text).map_err(|e| Error::RuleFile {
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        reason: e.message().to_string(),
    })?;
    if file.rule.len() > MAX_RULES {
        return Err(Error::RuleFile {
            line: 0,
            reason: format!("{} rules is over the limit of {MAX_RULES}", file.rule.len()),
        });
    }
    let mut rules: Vec<AlertRule> = Vec::with_capacity(file.rule.len());
    for spanned in file.rule {
        let line = line_of(text, spanned.span().start);
        let rule = convert(spanned.into_inner()).map_err(|reason| Error::RuleFile { line, reason })?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(Error::RuleFile {
                line,
                reason: format!("a second rule named {:?}", rule.name),
            });
        }
        rules.push(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in [
            "",
            "5",
            "m",
            "5 m",
            "-5s",
            "5x",
            "99999999999999999999d",
            "18446744073709551615d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
