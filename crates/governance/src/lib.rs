//! Kith's sharing decisions: may this practitioner see this tier of this record about this
//! child, for this purpose — and why?
//!
//! A decision rests on an **information-sharing agreement** ([`Agreement`], versioned, loaded
//! from readable TOML files by [`loader`]) that names the parties, the purposes, the data
//! categories, the lawful basis per purpose (UK GDPR Art 6; for health data an Art 9
//! condition and its DPA 2018 Schedule 1 or Schedule 8 paragraph) and the minimum fields each
//! purpose needs. Around it sit the facts in [`GovernanceState`]: children's ages and
//! sensitivity, **consents** ([`Consent`], FHIR-like permit/deny provisions, withdrawal) and who
//! may give them ([`consent_authority`]: parent with parental responsibility, or the child by
//! age or Gillick assessment), **legitimate relationships** that lapse on their end date, the
//! **National Data Opt-out** register and **break-glass** grants ([`breakglass`]).
//!
//! [`decide`] is the one function that decides. It gathers those facts for one
//! [`SharingRequest`], asks the Cedar rules in `policies/sharing.cedar` (validated against
//! `policies/kith.cedarschema` when the [`PolicyEngine`] starts), and minimises the disclosure:
//! fields outside the purpose's profile, a sensitive child's whereabouts and restricted
//! compartments are withheld. The [`Decision`] lists the reasons — agreement and version,
//! lawful basis, consent and version, relationship, opt-out exemption, override, the rules
//! that decided — and becomes exactly one audit [`ledger::Entry`] through
//! [`Decision::ledger_entry`]. Decisions *not* to share taken by a person are [`NotShared`]
//! records with their own ledger entries and report.
//!
//! The crate is pure: no clock (callers pass `now`), no I/O outside [`loader`].
//!
//! ```
//! use governance::{
//!     decide, loader, Actor, DataCategory, GovernanceState, PolicyEngine, Purpose,
//!     SharingRequest, StateRecords, Tier,
//! };
//! use governance::state::{Relationship, RelationshipKind};
//!
//! let text = r#"
//!     id = "ISA-EXAMPLE"
//!     version = 1
//!     title = "Direct care"
//!     owner = "Caldicott Guardian"
//!     data_categories = ["health"]
//!     start = 2026-01-01
//!     end = 2026-12-31
//!     review = 2026-07-01
//!     parties = [
//!         { code = "B86001", name = "A surgery", kind = "health" },
//!         { code = "RR8", name = "A hospital", kind = "health" },
//!     ]
//!     [purposes.direct_care]
//!     art6 = "public_task"
//!     art9 = "health_or_social_care"
//!     dpa2018 = "sch1_para2"
//!     roles = ["gp"]
//!     max_tier = "summary"
//!     fields = ["exists", "lead_practitioner", "last_contact", "name"]
//! "#;
//! let agreement = loader::parse_agreement("example.toml".as_ref(), text)?;
//! let state = GovernanceState::from_records(StateRecords {
//!     agreements: vec![agreement],
//!     relationships: vec![Relationship {
//!         id: "REG-1".into(),
//!         child: "K7Q2M9X4".into(),
//!         kind: RelationshipKind::GpRegistration,
//!         org: "B86001".into(),
//!         user: None,
//!         team: None,
//!         start: "2020-01-01".parse()?,
//!         end: None,
//!     }],
//!     ..StateRecords::default()
//! });
//! let engine = PolicyEngine::new()?;
//! let request = SharingRequest {
//!     actor: Actor { user: "dr-patel".into(), org: "B86001".into(), role: "gp".into(), team: None },
//!     purpose: Some(Purpose::DirectCare),
//!     child: "K7Q2M9X4".into(),
//!     holder: "RR8".into(),
//!     category: DataCategory::Health,
//!     tier: Tier::Involvement,
//!     safeguarding: None,
//!     location_override: None,
//! };
//! let decision = decide(&engine, &state, &request, "2026-03-14T09:00:00Z".parse()?);
//! assert!(decision.is_permit(), "{}", decision.explain());
//! assert_eq!(decision.agreement(), Some(("ISA-EXAMPLE", 1)));
//! // `lead_agency` is in the tier but not in the agreement's field profile.
//! assert_eq!(decision.withheld.len(), 1);
//! let entry = decision.ledger_entry(0);
//! assert_eq!(entry.decision, Some(ledger::Decision::Permit));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agreement;
pub mod breakglass;
pub mod consent;
pub mod decision;
pub mod loader;
pub mod not_shared;
pub mod policy;
pub mod state;
pub mod vocab;

pub use agreement::{Agreement, Art6, Art9, Dpa2018Condition, PurposeTerms};
pub use consent::{Consent, ConsentAuthority, ConsentState, consent_authority};
pub use decision::{
    Actor, Decision, LocationOverride, Outcome, Reason, SafeguardingOverride, SharingRequest,
    Withheld, WithheldWhy, decide, decide_with_relationships,
};
pub use not_shared::{NotShared, NotSharedReason};
pub use policy::{PolicyEngine, PolicyError};
pub use state::{GovernanceState, StateRecords};
pub use vocab::{Compartment, DataCategory, Field, Purpose, Sensitivity, Tier};
