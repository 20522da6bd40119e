//! How well the risk watch list (`domain::risk`) foresees serious arrears, on a seeded synthetic
//! history it was not tuned on: owners of four kinds pay monthly bills for 24 months — the
//! reliable; those hit by hardship at some month (from then on mostly unpaid); the chronically
//! late (always paid, 10–40 days late); those who stop paying when a complaint goes unanswered.
//! The list is drawn on a cut-off day from what was known that day; an owner "went bad" when, 90
//! days later, a bill due 60 or more days earlier was still unpaid. Prints precision and recall
//! (all listed, and score ≥ 50). The weights were set by reasoning (see `domain::risk`), not on
//! these numbers; the seed is fixed, so a run is reproducible.
//!
//! `cargo bench --bench watchlist` (or `WATCHLIST_OWNERS=20000 WATCHLIST_SEED=7 …`).
use chrono::{Duration, Months, NaiveDate};
use wuye::domain::risk::{assess, History, PastBill};

#[allow(dead_code)] // the memory helpers serve the other benchmarks
mod common;

/// xorshift64*: a deterministic generator, enough for a simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Reliable,
    Hardship { from: u32 },
    Chronic,
    Complaint { from: u32 },
}

const MONTHS: u32 = 24;
const PRINCIPAL: i64 = 22_375;

fn due(k: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 10)
        .and_then(|d| d.checked_add_months(Months::new(k)))
        .unwrap_or_default()
}

/// Each month's bill and the day it is (or would be) paid; None: never.
fn life(kind: Kind, rng: &mut Rng) -> Vec<(NaiveDate, Option<NaiveDate>)> {
    (0..MONTHS)
        .map(|k| {
            let d = due(k);
            let on_time = d - Duration::days(i64::try_from(rng.below(9)).unwrap_or(0));
            let paid = match kind {
                Kind::Reliable if rng.chance(95) => Some(on_time),
                Kind::Reliable => Some(d + Duration::days(1 + i64::try_from(rng.below(20)).unwrap_or(0))),
                Kind::Hardship { from } if k < from => Some(on_time),
                Kind::Hardship { .. } if rng.chance(85) => None,
                Kind::Hardship { .. } => Some(d + Duration::days(30 + i64::try_from(rng.below(30)).unwrap_or(0))),
                Kind::Chronic => Some(d + Duration::days(10 + i64::try_from(rng.below(31)).unwrap_or(0))),
                Kind::Complaint { from } if k < from => Some(on_time),
                Kind::Complaint { .. } => None,
            };
            (d, paid)
        })
        .collect()
}

fn main() {
    let owners = u64::try_from(common::env_num("WATCHLIST_OWNERS", 10_000)).unwrap_or(10_000);
    let mut rng = Rng(u64::try_from(common::env_num("WATCHLIST_SEED", 20_261_201))
        .unwrap_or(1)
        .max(1));
    let cutoff = due(18) + Duration::days(10);
    let judged = cutoff + Duration::days(90);
    let (mut listed, mut listed_bad, mut high, mut high_bad, mut bad_total) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut by_kind: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for _ in 0..owners {
        let onset = 12 + u32::try_from(rng.below(u64::from(MONTHS - 12))).unwrap_or(0);
        let kind = match rng.below(100) {
            0..=69 => Kind::Reliable,
            70..=79 => Kind::Hardship { from: onset },
            80..=91 => Kind::Chronic,
            _ => Kind::Complaint { from: onset },
        };
        let bills = life(kind, &mut rng);
        // What was known on the cut-off day: bills due by then, paid only if paid by then.
        let known = History {
            bills: bills
                .iter()
                .filter(|(d, _)| *d <= cutoff)
                .map(|(d, p)| PastBill {
                    due: *d,
                    principal_fen: PRINCIPAL,
                    settled_on: p.filter(|p| *p <= cutoff),
                })
                .collect(),
            open_complaints: u32::from(matches!(kind, Kind::Complaint { from } if due(from) <= cutoff)),
            failed_debits: 0,
            broken_plan: false,
        };
        let bad = bills
            .iter()
            .any(|(d, p)| *d + Duration::days(60) <= judged && p.is_none_or(|p| p > judged));
        let verdict = assess(&known, cutoff);
        bad_total += u64::from(bad);
        if let Some(a) = &verdict {
            listed += 1;
            listed_bad += u64::from(bad);
            if a.score >= 50 {
                high += 1;
                high_bad += u64::from(bad);
            }
        }
        let name = match kind {
            Kind::Reliable => "reliable",
            Kind::Hardship { .. } => "hardship",
            Kind::Chronic => "chronic",
            Kind::Complaint { .. } => "complaint",
        };
        let e = by_kind.entry(name).or_default();
        e.0 += 1;
        e.1 += u64::from(verdict.is_some());
    }
    // Per mille, printed as a percentage with one decimal: integers all the way.
    let pct = |a: u64, b: u64| {
        let m = (a * 1000).checked_div(b).unwrap_or(0);
        format!("{}.{}", m / 10, m % 10)
    };
    println!("watch list on {owners} synthetic owners, cut-off {cutoff}, judged {judged}");
    println!("went bad: {bad_total}");
    println!(
        "listed: {listed}, precision {}%, recall {}%",
        pct(listed_bad, listed),
        pct(listed_bad, bad_total)
    );
    println!(
        "score >= 50: {high}, precision {}%, recall {}%",
        pct(high_bad, high),
        pct(high_bad, bad_total)
    );
    for (kind, (n, l)) in by_kind {
        println!("  {kind}: {n} owners, {l} listed ({}%)", pct(l, n));
    }
}
