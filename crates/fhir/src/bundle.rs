//! Bundle: search results (including `$match`), transactions and their responses.

use serde::{Deserialize, Serialize};

use crate::Patient;
use crate::datatypes::{Extension, Meta, Value};
use crate::resource::Resource;
use crate::systems::{self, MatchGrade};

/// A FHIR R4 `Bundle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Bundle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(rename = "type")]
    pub bundle_type: BundleType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<BundleLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// What a Bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleType {
    Document,
    Message,
    Transaction,
    TransactionResponse,
    Batch,
    BatchResponse,
    History,
    Searchset,
    Collection,
}

/// A link about the whole Bundle, such as `self` or `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleLink {
    pub relation: String,
    pub url: String,
}

/// One entry of a Bundle.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Box<Resource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<EntrySearch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<EntryRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<EntryResponse>,
}

/// Why an entry is in a searchset, and how well it matched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntrySearch {
    /// Carries the `match-grade` extension on `$match` results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SearchMode>,
    /// Between 0 and 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// Whether an entry matched the search or was included alongside a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    Match,
    Include,
    Outcome,
}

/// The HTTP request a transaction entry stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryRequest {
    pub method: HttpVerb,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_exist: Option<String>,
}

/// The HTTP methods a Bundle request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpVerb {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
}

/// The result of one transaction entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryResponse {
    /// The HTTP status line, such as `201 Created`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Box<Resource>>,
}

/// One `$match` candidate: the Patient, Kith's grade and the match probability (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct MatchCandidate {
    pub patient: Patient,
    pub grade: MatchGrade,
    pub score: f64,
}

/// `{base}/{type}/{id}`, the full URL of a resource, when it has an id.
pub fn full_url(base_url: &str, resource: &Resource) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    resource
        .id()
        .map(|id| format!("{base}/{}/{id}", resource.resource_type()))
}

impl Bundle {
    /// An empty Bundle of a given type.
    pub fn new(bundle_type: BundleType) -> Bundle {
        Bundle {
            id: None,
            meta: None,
            bundle_type,
            total: None,
            link: Vec::new(),
            entry: Vec::new(),
        }
    }

    /// A search result: every resource is a `match`, `total` is their number.
    pub fn searchset(base_url: &str, resources: Vec<Resource>) -> Bundle {
        let entry: Vec<BundleEntry> = resources
            .into_iter()
            .map(|resource| BundleEntry {
                full_url: full_url(base_url, &resource),
                resource: Some(Box::new(resource)),
                search: Some(EntrySearch {
                    mode: Some(SearchMode::Match),
                    ..EntrySearch::default()
                }),
                ..BundleEntry::default()
            })
            .collect();
        Bundle {
            total: Some(count(&entry)),
            entry,
            ..Bundle::new(BundleType::Searchset)
        }
    }

    /// A transaction of resources to create, each with a `urn:uuid:` full URL that other entries
    /// may reference.
    pub fn transaction(entries: Vec<(String, Resource)>) -> Bundle {
        let entry = entries
            .into_iter()
            .map(|(full_url, resource)| BundleEntry {
                full_url: Some(full_url),
                request: Some(EntryRequest {
                    method: HttpVerb::Post,
                    url: resource.resource_type().to_string(),
                    if_none_exist: None,
                }),
                resource: Some(Box::new(resource)),
                ..BundleEntry::default()
            })
            .collect();
        Bundle {
            entry,
            ..Bundle::new(BundleType::Transaction)
        }
    }

    /// The response to a transaction: one entry per request entry, in the same order.
    pub fn transaction_response(responses: Vec<EntryResponse>) -> Bundle {
        Bundle {
            entry: responses
                .into_iter()
                .map(|response| BundleEntry {
                    response: Some(response),
                    ..BundleEntry::default()
                })
                .collect(),
            ..Bundle::new(BundleType::TransactionResponse)
        }
    }
}

impl EntryResponse {
    /// `201 Created` at a location such as `Patient/K000000019/_history/1`.
    pub fn created(location: &str) -> EntryResponse {
        EntryResponse {
            status: "201 Created".to_string(),
            location: Some(location.to_string()),
            etag: None,
            last_modified: None,
            outcome: None,
        }
    }

    /// `200 OK` for an entry that updated, or matched, an existing resource.
    pub fn ok(location: &str) -> EntryResponse {
        EntryResponse {
            status: "200 OK".to_string(),
            ..EntryResponse::created(location)
        }
    }
}

/// The `$match` result: a searchset of candidates, best score first, each with its score and
/// its `match-grade` extension.
pub fn match_bundle(base_url: &str, candidates: &[MatchCandidate]) -> Bundle {
    let mut ranked: Vec<&MatchCandidate> = candidates.iter().collect();
    // INVARIANT: $match results are ordered by score, best first; ties keep the caller's order.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    let entry: Vec<BundleEntry> = ranked
        .into_iter()
        .map(|candidate| {
            let resource = Resource::Patient(candidate.patient.clone());
            BundleEntry {
                full_url: full_url(base_url, &resource),
                resource: Some(Box::new(resource)),
                search: Some(EntrySearch {
                    extension: vec![Extension::with_value(
                        systems::MATCH_GRADE_EXTENSION,
                        Value::Code(candidate.grade.code().to_string()),
                    )],
                    mode: Some(SearchMode::Match),
                    score: Some(candidate.score),
                }),
                ..BundleEntry::default()
            }
        })
        .collect();
    Bundle {
        total: Some(count(&entry)),
        entry,
        ..Bundle::new(BundleType::Searchset)
    }
}

fn count(entries: &[BundleEntry]) -> u32 {
    u32::try_from(entries.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OperationOutcome;

    fn patient(id: &str) -> Patient {
        Patient {
            id: Some(id.into()),
            ..Patient::default()
        }
    }

    #[test]
    fn searchset_counts_and_gives_full_urls() {
        let bundle = Bundle::searchset(
            "https://kith.example/fhir/",
            vec![patient("K000000019").into(), Patient::default().into()],
        );
        assert_eq!(bundle.bundle_type, BundleType::Searchset);
        assert_eq!(bundle.total, Some(2));
        assert_eq!(
            bundle.entry[0].full_url.as_deref(),
            Some("https://kith.example/fhir/Patient/K000000019")
        );
        assert_eq!(bundle.entry[1].full_url, None, "no id, no full URL");
        assert_eq!(
            bundle.entry[0].search.as_ref().unwrap().mode,
            Some(SearchMode::Match)
        );
    }

    #[test]
    fn match_bundle_ranks_by_score_and_carries_the_grade() {
        let bundle = match_bundle(
            "https://kith.example/fhir",
            &[
                MatchCandidate {
                    patient: patient("K000000027"),
                    grade: MatchGrade::Possible,
                    score: 0.41,
                },
                MatchCandidate {
                    patient: patient("K000000019"),
                    grade: MatchGrade::Certain,
                    score: 0.998,
                },
            ],
        );
        let json = serde_json::to_value(&bundle).unwrap();
        assert_eq!(json["total"], 2);
        assert_eq!(json["entry"][0]["resource"]["id"], "K000000019");
        assert_eq!(json["entry"][0]["search"]["score"], 0.998);
        assert_eq!(
            json["entry"][0]["search"]["extension"][0],
            serde_json::json!({"url": systems::MATCH_GRADE_EXTENSION, "valueCode": "certain"})
        );
        assert_eq!(
            json["entry"][1]["search"]["extension"][0]["valueCode"],
            "possible"
        );
    }

    #[test]
    fn an_empty_match_is_a_searchset_of_zero() {
        let json = serde_json::to_value(match_bundle("https://kith.example/fhir", &[])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"resourceType": "Bundle", "type": "searchset", "total": 0})
        );
    }

    #[test]
    fn transaction_response_keeps_order_and_round_trips() {
        let mut failed = EntryResponse::created("Patient/K000000019/_history/1");
        failed.status = "400 Bad Request".into();
        failed.location = None;
        failed.outcome = Some(Box::new(OperationOutcome::invalid("bad").into()));
        let bundle = Bundle::transaction_response(vec![
            EntryResponse::created("Patient/K000000019/_history/1"),
            EntryResponse::ok("Encounter/enc-1/_history/2"),
            failed,
        ]);
        let text = serde_json::to_string(&bundle).unwrap();
        assert!(text.contains(r#""type":"transaction-response""#));
        let back: Bundle = serde_json::from_str(&text).unwrap();
        assert_eq!(back, bundle);
        assert_eq!(back.entry[1].response.as_ref().unwrap().status, "200 OK");
    }
}
