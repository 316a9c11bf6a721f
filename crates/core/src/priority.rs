//! Triage priority: which cluster a triager should open first, as a sum of named components so
//! that the queue can show why a cluster ranks where it does.
//!
//! Money still inside the banks' recall window outweighs everything else: a fresh cluster with a
//! recent transfer beats an older, bigger one whose money is gone. The score changes with time
//! alone as payments leave the recall window and reports leave the velocity window, so `score`
//! also says when to compute it again (`rescore_at`).

use crate::UnixMicros;
use crate::money::{decimals, format_amount};

/// The weights and windows of the priority score. An operator may set any of them from a JSON
/// object with these field names ([`PriorityWeights::from_json`]); the others keep their defaults.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityWeights {
    /// How long after a payment a bank recall may still succeed (default 72 h).
    pub recall_window_seconds: i64,
    /// How far back reports count as recent activity (default 7 days).
    pub velocity_window_seconds: i64,
    /// Points for having any money inside the recall window (default 20).
    pub recoverable_base: f64,
    /// Points per power of ten of recoverable major units of the reference currency (default 10).
    pub recoverable_per_decade: f64,
    /// Points when any report says the scammers are still in contact (default 15).
    pub ongoing_contact: f64,
    /// Points per vulnerable victim (default 8).
    pub vulnerable_per_victim: f64,
    /// Cap on the vulnerability points (default 24).
    pub vulnerable_max: f64,
    /// Points per power of ten of the total loss in major units (default 5).
    pub total_loss_per_decade: f64,
    /// Points per doubling of the number of distinct victims (default 6).
    pub victims_per_doubling: f64,
    /// Points per report inside the velocity window (default 3).
    pub velocity_per_report: f64,
    /// Cap on the velocity points (default 30).
    pub velocity_max: f64,
    /// Points per identifier someone can act on (default 2).
    pub actionable_per_identifier: f64,
    /// Cap on the actionable-identifier points (default 20).
    pub actionable_max: f64,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        Self {
            recall_window_seconds: 72 * 3600,
            velocity_window_seconds: 7 * 86_400,
            recoverable_base: 20.0,
            recoverable_per_decade: 10.0,
            ongoing_contact: 15.0,
            vulnerable_per_victim: 8.0,
            vulnerable_max: 24.0,
            total_loss_per_decade: 5.0,
            victims_per_doubling: 6.0,
            velocity_per_report: 3.0,
            velocity_max: 30.0,
            actionable_per_identifier: 2.0,
            actionable_max: 20.0,
        }
    }
}

/// A priority configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("priority weights: {0}")]
pub struct WeightsError(String);

impl PriorityWeights {
    /// Reads weights from a JSON object; unnamed fields keep their defaults. Windows must be
    /// positive and weights finite and not negative.
    pub fn from_json(text: &str) -> Result<Self, WeightsError> {
        let w: PriorityWeights = serde_json::from_str(text).map_err(|e| WeightsError(e.to_string()))?;
        if w.recall_window_seconds <= 0 || w.velocity_window_seconds <= 0 {
            return Err(WeightsError("windows must be positive".into()));
        }
        let weights = [
            ("recoverable_base", w.recoverable_base),
            ("recoverable_per_decade", w.recoverable_per_decade),
            ("ongoing_contact", w.ongoing_contact),
            ("vulnerable_per_victim", w.vulnerable_per_victim),
            ("vulnerable_max", w.vulnerable_max),
            ("total_loss_per_decade", w.total_loss_per_decade),
            ("victims_per_doubling", w.victims_per_doubling),
            ("velocity_per_report", w.velocity_per_report),
            ("velocity_max", w.velocity_max),
            ("actionable_per_identifier", w.actionable_per_identifier),
            ("actionable_max", w.actionable_max),
        ];
        if let Some((name, value)) = weights.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(WeightsError(format!("{name} = {value}: must be a finite number, 0 or more")));
        }
        Ok(w)
    }
}

/// A payment that a bank recall could still claw back (bank, instant or card), once converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoverablePayment {
    /// When the victim paid.
    pub paid_at: UnixMicros,
    /// The amount in minor units of the reference currency.
    pub amount_reference_minor: i64,
}

/// What the score needs to know about a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    /// Distinct victims across the cluster's reports.
    pub victim_count: i64,
    /// Total reported loss in minor units of the reference currency.
    pub total_loss_reference_minor: i64,
    /// The reference currency of the amounts (decides their decimals).
    pub reference_currency: String,
    /// Bank, instant and card payments with a date; `score` keeps those inside the recall window.
    pub recoverable: Vec<RecoverablePayment>,
    /// Reports saying the scammers are still in contact.
    pub ongoing_contact_reports: i64,
    /// Distinct vulnerable victims.
    pub vulnerable_victims: i64,
    /// When each report was received; `score` counts those inside the velocity window.
    pub report_times: Vec<UnixMicros>,
    /// Identifiers someone can act on (block a number, freeze an account, take down a site).
    pub actionable_identifiers: i64,
}

/// One named part of a priority.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityComponent {
    /// Stable name: `recoverable_money`, `ongoing_contact`, `vulnerability`, `total_loss`,
    /// `distinct_victims`, `velocity` or `actionable_identifiers`.
    pub name: &'static str,
    /// Points, rounded to two decimals.
    pub value: f64,
    /// Why, in one English sentence.
    pub basis: String,
}

/// A cluster's priority and when it changes by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Priority {
    /// The sum of the components' values.
    pub total: f64,
    /// Every component, always the same seven in the same order.
    pub components: Vec<PriorityComponent>,
    /// Money inside the recall window, in minor units of the reference currency.
    pub recoverable_reference_minor: i64,
    /// When the recall window of the latest recoverable payment closes, if any is open.
    pub recall_window_closes_at: Option<UnixMicros>,
    /// The next instant at which the score changes with time alone, if any.
    pub rescore_at: Option<UnixMicros>,
}

impl Priority {
    /// The total in thousandths, rounded: an integer to store and order by.
    pub fn total_milli(&self) -> i64 {
        (self.total * 1000.0).round() as i64
    }
}

/// Scores a cluster at instant `now`.
pub fn score(facts: &ClusterFacts, weights: &PriorityWeights, now: UnixMicros) -> Priority {
    let currency = facts.reference_currency.as_str();
    let major = |minor: i64| minor.max(0) as f64 / 10f64.powi(decimals(currency) as i32);
    let recall_start = now.plus_seconds(-weights.recall_window_seconds);
    let velocity_start = now.plus_seconds(-weights.velocity_window_seconds);
    // A payment or report is inside a window from its instant (inclusive) until instant + window.
    let inside = |at: UnixMicros, start: UnixMicros| at > start && at <= now;

    // A zero amount is nothing to recover, so it neither scores nor holds the window open.
    let (mut recoverable, mut recoverable_minor) = (Vec::new(), 0i64);
    for payment in &facts.recoverable {
        if payment.amount_reference_minor > 0 && inside(payment.paid_at, recall_start) {
            recoverable.push(payment.paid_at);
            recoverable_minor = recoverable_minor.saturating_add(payment.amount_reference_minor);
        }
    }
    let recent_reports: Vec<UnixMicros> =
        facts.report_times.iter().copied().filter(|&at| inside(at, velocity_start)).collect();

    let recall_window = describe_window(weights.recall_window_seconds);
    let velocity_window = describe_window(weights.velocity_window_seconds);
    let ongoing = facts.ongoing_contact_reports.max(0);
    let vulnerable = facts.vulnerable_victims.max(0);
    let victims = facts.victim_count.max(0);
    let actionable = facts.actionable_identifiers.max(0);

    let components = vec![
        component(
            "recoverable_money",
            if recoverable.is_empty() {
                0.0
            } else {
                weights.recoverable_base + weights.recoverable_per_decade * (1.0 + major(recoverable_minor)).log10()
            },
            if recoverable.is_empty() {
                format!("no bank, instant or card payment inside the {recall_window} recall window")
            } else {
                format!(
                    "{} paid by bank, instant or card transfer inside the {recall_window} recall window",
                    format_amount(recoverable_minor, currency)
                )
            },
        ),
        component(
            "ongoing_contact",
            if ongoing > 0 { weights.ongoing_contact } else { 0.0 },
            match ongoing {
                0 => "no report says the scammers are still in contact".to_owned(),
                1 => "1 report says the scammers are still in contact".to_owned(),
                n => format!("{n} reports say the scammers are still in contact"),
            },
        ),
        component(
            "vulnerability",
            (weights.vulnerable_per_victim * vulnerable as f64).min(weights.vulnerable_max),
            format!("{} aged 70 or over or declared vulnerable", count(vulnerable, "vulnerable victim")),
        ),
        component(
            "total_loss",
            weights.total_loss_per_decade * (1.0 + major(facts.total_loss_reference_minor)).log10(),
            format!("{} lost in total", format_amount(facts.total_loss_reference_minor.max(0), currency)),
        ),
        component(
            "distinct_victims",
            weights.victims_per_doubling * (victims.max(1) as f64).log2(),
            count(victims, "distinct victim"),
        ),
        component(
            "velocity",
            (weights.velocity_per_report * recent_reports.len() as f64).min(weights.velocity_max),
            format!("{} in the last {velocity_window}", count(recent_reports.len() as i64, "report")),
        ),
        component(
            "actionable_identifiers",
            (weights.actionable_per_identifier * actionable as f64).min(weights.actionable_max),
            format!("{} someone can act on", count(actionable, "identifier")),
        ),
    ];

    // Payments and reports dated after `now` (a client clock ahead of ours) enter their window later.
    let recall_exits = recoverable.iter().map(|&at| at.plus_seconds(weights.recall_window_seconds));
    let velocity_exits = recent_reports.iter().map(|&at| at.plus_seconds(weights.velocity_window_seconds));
    let future_entries = facts
        .recoverable
        .iter()
        .filter(|p| p.amount_reference_minor > 0)
        .map(|p| p.paid_at)
        .chain(facts.report_times.iter().copied())
        .filter(|&at| at > now);

    Priority {
        total: components.iter().map(|c| c.value).sum(),
        components,
        recoverable_reference_minor: recoverable_minor,
        recall_window_closes_at: recoverable.iter().max().map(|&at| at.plus_seconds(weights.recall_window_seconds)),
        rescore_at: recall_exits.chain(velocity_exits).chain(future_entries).min(),
    }
}

/// A component with its value rounded to two decimals, so the API shows clean numbers.
fn component(name: &'static str, value: f64, basis: String) -> PriorityComponent {
    PriorityComponent { name, value: (value * 100.0).round() / 100.0, basis }
}

/// "1 report", "3 reports".
fn count(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A window as people say it: banks quote recall windows in hours ("72 h"), weeks are counted in
/// days ("7 days").
fn describe_window(seconds: i64) -> String {
    match seconds {
        s if s % 3600 == 0 && s <= 72 * 3600 => format!("{} h", s / 3600),
        s if s % 86_400 == 0 => count(s / 86_400, "day"),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;

    fn now() -> UnixMicros {
        UnixMicros(1_750_000_000_000_000)
    }

    fn ago(seconds: i64) -> UnixMicros {
        now().plus_seconds(-seconds)
    }

    fn facts() -> ClusterFacts {
        ClusterFacts {
            victim_count: 1,
            total_loss_reference_minor: 0,
            reference_currency: "EUR".to_owned(),
            recoverable: vec![],
            ongoing_contact_reports: 0,
            vulnerable_victims: 0,
            report_times: vec![],
            actionable_identifiers: 0,
        }
    }

    fn value(priority: &Priority, name: &str) -> f64 {
        priority.components.iter().find(|c| c.name == name).map(|c| c.value).expect(name)
    }

    #[test]
    fn a_fresh_transfer_outranks_an_older_bigger_cluster() {
        let weights = PriorityWeights::default();
        let fresh = ClusterFacts {
            total_loss_reference_minor: 480_000,
            recoverable: vec![RecoverablePayment { paid_at: ago(5 * HOUR), amount_reference_minor: 480_000 }],
            report_times: vec![ago(HOUR)],
            actionable_identifiers: 1,
            ..facts()
        };
        let older = ClusterFacts {
            victim_count: 6,
            total_loss_reference_minor: 25_000_000,
            recoverable: vec![RecoverablePayment { paid_at: ago(20 * DAY), amount_reference_minor: 9_000_000 }],
            report_times: (0..6).map(|i| ago(10 * DAY + i * DAY)).collect(),
            actionable_identifiers: 5,
            ..facts()
        };
        let fresh = score(&fresh, &weights, now());
        let older = score(&older, &weights, now());
        assert!(fresh.total > older.total, "{fresh:#?} vs {older:#?}");
        assert!(fresh.total_milli() > older.total_milli());
        assert_eq!(fresh.recoverable_reference_minor, 480_000);
        assert_eq!(older.recoverable_reference_minor, 0);
        assert_eq!(older.recall_window_closes_at, None);
        // 20 + 10 × log10(4801) = 56.81
        assert_eq!(value(&fresh, "recoverable_money"), 56.81);
        assert_eq!(
            fresh.components[0].basis,
            "EUR 4,800.00 paid by bank, instant or card transfer inside the 72 h recall window"
        );
    }

    #[test]
    fn recoverable_money_drops_when_the_recall_window_closes() {
        let weights = PriorityWeights::default();
        let paid_at = ago(10 * HOUR);
        let cluster = ClusterFacts {
            recoverable: vec![
                RecoverablePayment { paid_at, amount_reference_minor: 100_000 },
                RecoverablePayment { paid_at: ago(2 * HOUR), amount_reference_minor: 50_000 },
                RecoverablePayment { paid_at: ago(80 * HOUR), amount_reference_minor: 70_000 },
            ],
            ..facts()
        };
        let before = score(&cluster, &weights, now());
        assert_eq!(before.recoverable_reference_minor, 150_000);
        assert_eq!(before.recall_window_closes_at, Some(ago(2 * HOUR).plus_seconds(72 * HOUR)));
        let first_close = paid_at.plus_seconds(72 * HOUR);
        assert_eq!(before.rescore_at, Some(first_close));

        // At the instant the first payment's window closes only the second one counts.
        let at_close = score(&cluster, &weights, first_close);
        assert_eq!(at_close.recoverable_reference_minor, 50_000);
        let second_close = ago(2 * HOUR).plus_seconds(72 * HOUR);
        assert_eq!(at_close.rescore_at, Some(second_close));

        let after = score(&cluster, &weights, second_close);
        assert_eq!(value(&after, "recoverable_money"), 0.0);
        assert_eq!(after.recoverable_reference_minor, 0);
        assert_eq!(after.recall_window_closes_at, None);
        assert_eq!(after.rescore_at, None);
        assert_eq!(after.components[0].basis, "no bank, instant or card payment inside the 72 h recall window");
    }

    #[test]
    fn every_component_is_present_in_order_and_the_total_is_their_sum() {
        let cluster = ClusterFacts {
            victim_count: 3,
            total_loss_reference_minor: 1_234_567,
            recoverable: vec![RecoverablePayment { paid_at: ago(HOUR), amount_reference_minor: 33_333 }],
            ongoing_contact_reports: 2,
            vulnerable_victims: 5,
            report_times: vec![ago(HOUR), ago(3 * DAY), ago(8 * DAY)],
            actionable_identifiers: 4,
            ..facts()
        };
        let p = score(&cluster, &PriorityWeights::default(), now());
        let names: Vec<_> = p.components.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "recoverable_money",
                "ongoing_contact",
                "vulnerability",
                "total_loss",
                "distinct_victims",
                "velocity",
                "actionable_identifiers"
            ]
        );
        let values: Vec<_> = p.components.iter().map(|c| c.value).collect();
        // 20 + 10·log10(334.33); 15; min(40, 24); 5·log10(12346.67); 6·log2(3); 2 × 3; 4 × 2.
        assert_eq!(values, [45.24, 15.0, 24.0, 20.46, 9.51, 6.0, 8.0]);
        assert_eq!(p.total, values.iter().sum::<f64>());
        assert_eq!(p.total_milli(), 128_210);
        let bases: Vec<_> = p.components.iter().map(|c| c.basis.as_str()).collect();
        assert_eq!(
            bases[1..],
            [
                "2 reports say the scammers are still in contact",
                "5 vulnerable victims aged 70 or over or declared vulnerable",
                "EUR 12,345.67 lost in total",
                "3 distinct victims",
                "2 reports in the last 7 days",
                "4 identifiers someone can act on",
            ]
        );
        // The earliest change: the payment from an hour ago leaves the 72 h window in 71 h,
        // before any report leaves the 7-day one (the first in 4 days).
        assert_eq!(p.rescore_at, Some(ago(HOUR).plus_seconds(72 * HOUR)));
        let later = score(&cluster, &PriorityWeights::default(), ago(HOUR).plus_seconds(72 * HOUR));
        assert_eq!(later.rescore_at, Some(ago(3 * DAY).plus_seconds(7 * DAY)));
    }

    #[test]
    fn an_empty_cluster_scores_zero_and_caps_hold() {
        let empty = ClusterFacts { victim_count: 0, ..facts() };
        let p = score(&empty, &PriorityWeights::default(), now());
        assert_eq!(p.total, 0.0);
        assert!(p.components.iter().all(|c| c.value == 0.0));
        assert_eq!(p.rescore_at, None);

        let busy = ClusterFacts {
            vulnerable_victims: 100,
            report_times: vec![ago(60); 50],
            actionable_identifiers: 1000,
            ..facts()
        };
        let p = score(&busy, &PriorityWeights::default(), now());
        assert_eq!(value(&p, "vulnerability"), 24.0);
        assert_eq!(value(&p, "velocity"), 30.0);
        assert_eq!(value(&p, "actionable_identifiers"), 20.0);
    }

    #[test]
    fn a_payment_dated_ahead_of_our_clock_counts_once_its_time_comes() {
        let paid_at = now().plus_seconds(120);
        let cluster =
            ClusterFacts { recoverable: vec![RecoverablePayment { paid_at, amount_reference_minor: 1000 }], ..facts() };
        let p = score(&cluster, &PriorityWeights::default(), now());
        assert_eq!(value(&p, "recoverable_money"), 0.0);
        assert_eq!(p.rescore_at, Some(paid_at));
        assert_eq!(score(&cluster, &PriorityWeights::default(), paid_at).recoverable_reference_minor, 1000);
    }

    #[test]
    fn windows_read_naturally() {
        assert_eq!(describe_window(72 * HOUR), "72 h");
        assert_eq!(describe_window(7 * DAY), "7 days");
        assert_eq!(describe_window(DAY), "24 h");
        assert_eq!(describe_window(100 * HOUR), "100 h");
        assert_eq!(describe_window(90), "90 s");
    }

    #[test]
    fn weights_read_from_json_keep_defaults_for_what_is_not_named() {
        let w = PriorityWeights::from_json(r#"{"ongoing_contact": 40, "recall_window_seconds": 3600}"#).unwrap();
        assert_eq!(w.ongoing_contact, 40.0);
        assert_eq!(w.recall_window_seconds, 3600);
        assert_eq!(w.recoverable_base, PriorityWeights::default().recoverable_base);
        assert!(PriorityWeights::from_json(r#"{"ongoing_contactt": 1}"#).is_err(), "typos are refused");
        assert!(
            PriorityWeights::from_json(r#"{"velocity_max": -1}"#).unwrap_err().to_string().contains("velocity_max")
        );
        assert!(PriorityWeights::from_json(r#"{"recall_window_seconds": 0}"#).is_err());
    }
}
