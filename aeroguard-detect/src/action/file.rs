//! A policy from a TOML file ([`parse_policy`]).

use serde::Deserialize;

use super::{ActionRule, MAX_ACTIONS, Policy, SensorState, When};
use crate::alert::Severity;
use crate::alert::file::{line_of, parse_duration};
use crate::{Error, Result};

/// The largest policy file read.
pub const MAX_POLICY_FILE_BYTES: usize = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    action: Vec<toml::Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    vote: bool,
    remaining_life_below: Option<f64>,
    time_to_limit_below: Option<String>,
    health: Option<SensorState>,
    recommend: String,
    #[serde(default)]
    notify: bool,
    #[serde(default)]
    webhook: bool,
    quiet: Option<String>,
    severity: Option<Severity>,
}

fn duration(field: &str, v: Option<String>) -> std::result::Result<Option<std::time::Duration>, String> {
    v.map(|s| {
        parse_duration(&s)
            .ok_or_else(|| format!("`{field} = {s:?}` is not a duration like \"30s\", \"2m\" or \"1h30m\""))
    })
    .transpose()
}

fn convert(raw: RawRule) -> std::result::Result<ActionRule, String> {
    let rule = ActionRule {
        name: raw.name,
        when: When {
            vote: raw.vote,
            remaining_life_below: raw.remaining_life_below,
            time_to_limit_below: duration("time_to_limit_below", raw.time_to_limit_below)?,
            health: raw.health,
        },
        recommend: raw.recommend,
        notify: raw.notify,
        webhook: raw.webhook,
        quiet: duration("quiet", raw.quiet)?.unwrap_or_default(),
        severity: raw.severity.unwrap_or_default(),
    };
    rule.validate().map_err(|e| e.to_string())?;
    Ok(rule)
}

/// Parses a policy file. Errors name the line and what is wrong there ([`Error::PolicyFile`]); nothing of a bad
/// file is kept: it is refused whole.
///
/// ```toml
/// [[action]]
/// name = "process-upset"
/// vote = true                          # the conditions, all of which must hold: the ensemble's alarm,
/// remaining_life_below = 30.0          #   a remaining life below this,
/// time_to_limit_below = "10m"          #   a forecast that reaches its limit sooner than this,
/// health = "drifting"                  #   a sensor drifting or worse (out_of_tolerance, excluded)
/// recommend = "Inspect {subject}: {votes}"   # placeholders: see PLACEHOLDERS
/// notify = true                        # send it to the notifiers
/// webhook = true                       # call the action webhook (fencing token, idempotency key)
/// quiet = "1m"                         # how long the conditions stay away before the episode ends
/// severity = "critical"                # info, warning (the default) or critical
/// ```
///
/// ```
/// use aeroguard_detect::action::parse_policy;
/// let policy = parse_policy("[[action]]\nname = \"upset\"\nvote = true\nrecommend = \"Look: {votes}\"\n")?;
/// assert!(policy.rules()[0].when.vote);
/// let err = parse_policy("[[action]]\nname = \"upset\"\nvote = true\nrecommend = \"{vote}\"\n").unwrap_err();
/// assert!(err.to_string().starts_with("action policy, line 1:"), "{err}");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
pub fn parse_policy(text: &str) -> Result<Policy> {
    let refuse = |line, reason| Error::PolicyFile { line, reason };
    if text.len() > MAX_POLICY_FILE_BYTES {
        return Err(refuse(
            0,
            format!(
                "{} bytes is over the {MAX_POLICY_FILE_BYTES}-byte limit",
                text.len()
            ),
        ));
    }
    let file: RawFile = toml::from_str(text).map_err(|e| {
        refuse(
            e.span().map_or(0, |s| line_of(text, s.start)),
            e.message().to_string(),
        )
    })?;
    if file.action.len() > MAX_ACTIONS {
        return Err(refuse(
            0,
            format!("{} rules is over the limit of {MAX_ACTIONS}", file.action.len()),
        ));
    }
    let mut rules: Vec<ActionRule> = Vec::with_capacity(file.action.len());
    for spanned in file.action {
        let line = line_of(text, spanned.span().start);
        let rule = convert(spanned.into_inner()).map_err(|reason| refuse(line, reason))?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(refuse(line, format!("a second rule named {:?}", rule.name)));
        }
        rules.push(rule);
    }
    Policy::new(rules).map_err(|e| refuse(0, e.to_string()))
}
