//! Linkage quality, watched continuously: verified-identifier coverage per source against a
//! go-live threshold, match rates, the review queue, person sizes, and drift between runs.

use serde::{Deserialize, Serialize};
use store::Store;

use crate::Result;

/// One source's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStats {
    pub source: String,
    pub records: i64,
    /// Share of records carrying an NHS number verified against the national service (`01`).
    pub verified_nhs_share: f64,
    pub meets_go_live: bool,
    /// Share of records linked to a person.
    pub linked_share: f64,
    /// Share of records whose person also has a record from another source.
    pub match_rate: f64,
}

/// Something a data steward should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: String,
    pub source: Option<String>,
    pub message: String,
}

/// A snapshot of linkage quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub taken_at: String,
    pub go_live_threshold: f64,
    pub sources: Vec<SourceStats>,
    pub persons_active: i64,
    pub persons_retired: i64,
    pub records_pending: i64,
    pub review_open: i64,
    pub review_oldest_open: Option<String>,
    /// `(records per person, persons)`.
    pub cluster_sizes: Vec<(i64, i64)>,
    pub alerts: Vec<Alert>,
    /// When the snapshot compared against was taken.
    pub compared_with: Option<String>,
}

/// How far a share may move between two runs before it is called drift.
pub const DRIFT: f64 = 0.05;

fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Computes a snapshot, compares it with the last saved one, and saves it.
pub fn collect(
    store: &mut Store,
    go_live_threshold: f64,
    taken_at: &str,
    save: bool,
) -> Result<Stats> {
    let mut conn = store.registry();
    let previous: Option<Stats> = conn
        .last_stats()?
        .and_then(|(_, json)| serde_json::from_str(&json).ok());
    let sources: Vec<SourceStats> = conn
        .source_counts()?
        .into_iter()
        .map(|c| {
            let verified = share(c.verified_nhs, c.records);
            SourceStats {
                source: c.org_code,
                records: c.records,
                verified_nhs_share: verified,
                meets_go_live: verified >= go_live_threshold,
                linked_share: share(c.linked, c.records),
                match_rate: share(c.matched_elsewhere, c.records),
            }
        })
        .collect();
    let (persons_active, persons_retired) = conn.person_counts()?;
    let queue = conn.queue_counts()?;
    let mut stats = Stats {
        taken_at: taken_at.to_string(),
        go_live_threshold,
        records_pending: conn.pending_count()?,
        cluster_sizes: conn.cluster_sizes()?,
        sources,
        persons_active,
        persons_retired,
        review_open: queue.open,
        review_oldest_open: queue.oldest_open,
        alerts: Vec::new(),
        compared_with: previous.as_ref().map(|p| p.taken_at.clone()),
    };
    stats.alerts = alerts(&stats, previous.as_ref());
    if save {
        let json = serde_json::to_string(&stats).unwrap_or_default();
        store.registry().save_stats(taken_at, &json)?;
    }
    Ok(stats)
}

/// The alerts a snapshot raises on its own and against the previous one.
pub fn alerts(now: &Stats, previous: Option<&Stats>) -> Vec<Alert> {
    let mut out = Vec::new();
    for source in &now.sources {
        if !source.meets_go_live {
            out.push(Alert {
                kind: "below-go-live".into(),
                source: Some(source.source.clone()),
                message: format!(
                    "{:.1}% of records carry a verified NHS number, below the go-live threshold of {:.1}%",
                    source.verified_nhs_share * 100.0,
                    now.go_live_threshold * 100.0
                ),
            });
        }
        let Some(before) =
            previous.and_then(|p| p.sources.iter().find(|s| s.source == source.source))
        else {
            continue;
        };
        for (what, was, is) in [
            (
                "verified NHS number share",
                before.verified_nhs_share,
                source.verified_nhs_share,
            ),
            ("match rate", before.match_rate, source.match_rate),
        ] {
            if (is - was).abs() > DRIFT {
                out.push(Alert {
                    kind: "drift".into(),
                    source: Some(source.source.clone()),
                    message: format!(
                        "{what} moved from {:.1}% to {:.1}% since the last run",
                        was * 100.0,
                        is * 100.0
                    ),
                });
            }
        }
    }
    if let Some(before) = previous
        && now.review_open > 10
        && now.review_open as f64 > before.review_open as f64 * 1.5
    {
        out.push(Alert {
            kind: "drift".into(),
            source: None,
            message: format!(
                "review queue grew from {} to {} open items since the last run",
                before.review_open, now.review_open
            ),
        });
    }
    if now.records_pending > 0 {
        out.push(Alert {
            kind: "pending".into(),
            source: None,
            message: format!(
                "{} records are not linked to a person yet",
                now.records_pending
            ),
        });
    }
    out
}
