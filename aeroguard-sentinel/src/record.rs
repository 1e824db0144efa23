//! A verdict's record: each member's vote as `/verdicts` shows it, written into the stored point and read back.

use aeroguard_consensus::history::Point;
use aeroguard_detect::Verdict;

use super::api::{MemberVote, VerdictOut, vote_name};

/// Each member's part in a verdict, as `/verdicts` shows it.
pub(crate) fn member_votes(v: &Verdict) -> Vec<MemberVote> {
    v.members
        .iter()
        .map(|m| MemberVote {
            name: m.name.clone(),
            score: m.score,
            threshold: m.threshold,
            vote: vote_name(&m.vote).into(),
            fault: m.fault.map(|f| f.to_string()),
            drivers: m.drivers.iter().map(|d| (d.column, d.share)).collect(),
        })
        .collect()
}

/// A verdict's record in its stored point: `{"values": [..], "votes": [[member, score, threshold, vote], ..]}`
/// (a score that is not a finite number is `null`; then, when there is either, the fault its diagnosis found or
/// `null`, and the values that drove a yes vote as `[[index, share], ..]`). Arrays, not objects: a record is made for every row scored,
/// and objects cost the service a map and four keys per member.
pub(crate) fn record(values: &[f64], members: &[MemberVote]) -> serde_json::Value {
    use serde_json::Value;
    let votes = members
        .iter()
        .map(|m| {
            let mut vote = vec![
                Value::from(m.name.as_str()),
                m.score.map_or(Value::Null, Value::from),
                Value::from(m.threshold),
                Value::from(m.vote.as_str()),
            ];
            if m.fault.is_some() || !m.drivers.is_empty() {
                vote.push(m.fault.as_deref().map_or(Value::Null, Value::from));
            }
            if !m.drivers.is_empty() {
                let drivers = m
                    .drivers
                    .iter()
                    .map(|(c, s)| Value::from(vec![Value::from(*c), Value::from(*s)]));
                vote.push(Value::Array(drivers.collect()));
            }
            Value::Array(vote)
        })
        .collect();
    let mut map = serde_json::Map::new();
    map.insert("values".into(), values.iter().copied().map(Value::from).collect());
    map.insert("votes".into(), Value::Array(votes));
    Value::Object(map)
}

/// A stored point as the verdict it records (`None` for a training row, which has none). Reads the record of
/// `record`, and the object form (`"members": [{"name", "score", "threshold", "vote"}]`) of earlier versions.
pub fn verdict_of(p: &Point) -> Option<VerdictOut> {
    let detail = p.detail.as_ref()?;
    let members = match detail.get("votes") {
        Some(votes) => votes
            .as_array()?
            .iter()
            .map(|v| {
                Some(MemberVote {
                    name: v.get(0)?.as_str()?.to_string(),
                    score: v.get(1)?.as_f64(),
                    threshold: v.get(2)?.as_f64()?,
                    vote: v.get(3)?.as_str()?.to_string(),
                    fault: v.get(4).and_then(|f| f.as_str()).map(str::to_string),
                    drivers: v.get(5).map_or(Some(Vec::new()), |d| {
                        d.as_array()?
                            .iter()
                            .map(|p| Some((usize::try_from(p.get(0)?.as_u64()?).ok()?, p.get(1)?.as_f64()?)))
                            .collect()
                    })?,
                })
            })
            .collect::<Option<Vec<_>>>()?,
        None => serde_json::from_value(detail.get("members")?.clone()).ok()?,
    };
    Some(VerdictOut {
        at: p.at.as_millis(),
        values: serde_json::from_value(detail.get("values")?.clone()).ok()?,
        alarm: p.alarm?,
        members,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use aeroguard_core::Timestamp;

    use super::*;

    #[test]
    fn a_fault_and_drivers_keep_through_the_store() {
        let members = vec![MemberVote {
            name: "lstm".into(),
            score: Some(3.0),
            threshold: 1.0,
            vote: "yes".into(),
            fault: Some("voted yes alone on 150 of the last 300 rows".into()),
            drivers: vec![(2, 0.75), (0, 0.25)],
        }];
        let p = Point::new(Timestamp::from_millis(5), 1.0)
            .with_alarm(false)
            .with_detail(record(&[1.0], &members));
        assert_eq!(verdict_of(&p).unwrap().members, members);
        // A plain vote has neither, and reads back the same.
        let plain = vec![MemberVote {
            fault: None,
            drivers: Vec::new(),
            vote: "no".into(),
            ..members[0].clone()
        }];
        let p = Point::new(Timestamp::from_millis(6), 1.0)
            .with_alarm(false)
            .with_detail(record(&[1.0], &plain));
        assert_eq!(verdict_of(&p).unwrap().members, plain);
    }
}
