//! The one decision function, [`decide`]: gather the facts a request needs from
//! [`GovernanceState`] (agreement, lawful basis, consent, relationship, opt-out, break-glass),
//! let the Cedar rules decide, then minimise what is disclosed. Every [`Decision`] carries its
//! reasons and turns into exactly one ledger entry.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::agreement::{Agreement, Art6, Art9, Dpa2018Condition, PartyKind, PurposeTerms};
use crate::breakglass::ReasonCode;
use crate::consent::{self, ConsentAuthority, ConsentState};
use crate::policy::{AgreementFacts, Facts, PolicyEngine, Rule};
use crate::state::{GovernanceState, RelationshipKind};
use crate::vocab::{Compartment, DataCategory, Field, Purpose, Tier};

/// Who is asking: a user, their organisation and the role they selected for this session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub org: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A practitioner's request for one tier of one organisation's record about one child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingRequest {
    pub actor: Actor,
    /// Why they ask. A request without one is refused.
    #[serde(default)]
    pub purpose: Option<Purpose>,
    /// The child's consistent child identifier.
    pub child: String,
    /// The organisation holding the record.
    pub holder: String,
    pub category: DataCategory,
    pub tier: Tier,
    /// A safeguarding reason for sharing without (or against) consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguarding: Option<SafeguardingOverride>,
    /// An explicit override to disclose a sensitive child's whereabouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_override: Option<LocationOverride>,
}

/// "Seeking consent would place the child at risk": the basis and the practitioner's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeguardingOverride {
    pub basis: Dpa2018Condition,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationOverride {
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Permit,
    Deny,
}

/// Why a field in the requested tier is not disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithheldWhy {
    /// The agreement's field profile for this purpose does not include it.
    NotInFieldProfile,
    /// The child's whereabouts are protected and no override was recorded.
    SensitivePerson,
    /// A restricted compartment: shown as "restricted", asked of the holding service.
    Restricted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    pub field: Field,
    pub why: WithheldWhy,
}

/// One reason behind a decision. Each becomes a line in the ledger entry's `reasons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    NoPurpose,
    NoAgreement {
        org: String,
        holder: String,
        category: DataCategory,
    },
    Agreement {
        id: String,
        version: u32,
    },
    LawfulBasis {
        art6: Art6,
        #[serde(skip_serializing_if = "Option::is_none")]
        art9: Option<Art9>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dpa2018: Option<Dpa2018Condition>,
    },
    RoleNotInAgreement {
        role: String,
    },
    Consent {
        #[serde(flatten)]
        state: ConsentState,
        authority: ConsentAuthority,
        authority_why: String,
    },
    Relationship {
        id: String,
        relationship: RelationshipKind,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<Date>,
    },
    NoRelationship,
    BreakGlass {
        grant: String,
        reason_code: ReasonCode,
        expires_at: Timestamp,
    },
    SafeguardingOverride {
        basis: Dpa2018Condition,
        reason: String,
    },
    SafeguardingOverrideRejected {
        why: String,
    },
    /// Consent was refused, withdrawn or absent where it is the basis, and this safeguarding
    /// basis allowed sharing without it.
    ConsentSetAside {
        basis: Dpa2018Condition,
    },
    OptOutExemption {
        exemption: String,
    },
    LocationOverride {
        reason: String,
    },
    /// A Cedar rule that decided, with its `@id` and `@reason`.
    Rule(Rule),
    /// Nothing permitted the request.
    DefaultDeny,
    PolicyError {
        message: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPurpose => write!(f, "purpose: none declared"),
            Self::NoAgreement {
                org,
                holder,
                category,
            } => write!(
                f,
                "agreement: none in force between {org} and {holder} for {category} data and this purpose"
            ),
            Self::Agreement { id, version } => write!(f, "agreement: {id}@{version}"),
            Self::LawfulBasis {
                art6,
                art9,
                dpa2018,
            } => {
                write!(f, "basis: {}", art6.citation())?;
                if let Some(art9) = art9 {
                    write!(f, "; {}", art9.citation())?;
                }
                if let Some(dpa) = dpa2018 {
                    write!(f, "; {}", dpa.citation())?;
                }
                Ok(())
            }
            Self::RoleNotInAgreement { role } => {
                write!(f, "role: `{role}` not allowed by the agreement")
            }
            Self::Consent {
                state,
                authority,
                authority_why,
            } => {
                let who = match authority {
                    ConsentAuthority::Child => "the child",
                    ConsentAuthority::Parent => "a parent with parental responsibility",
                };
                match (state.reference(), state) {
                    (Some(r), ConsentState::Invalid { why, .. }) => {
                        write!(f, "consent: {r} invalid, {why}")?
                    }
                    (Some(r), _) => write!(f, "consent: {r} {}", state.as_str())?,
                    (None, _) => write!(f, "consent: none on record")?,
                }
                write!(f, " (who decides: {who}, {authority_why})")
            }
            Self::Relationship {
                id,
                relationship,
                until,
            } => {
                write!(f, "relationship: {} {id}", relationship.as_str())?;
                match until {
                    Some(d) => write!(f, " until {d}"),
                    None => Ok(()),
                }
            }
            Self::NoRelationship => write!(f, "relationship: none current"),
            Self::BreakGlass {
                grant,
                reason_code,
                expires_at,
            } => write!(
                f,
                "break-glass: {grant} ({}) until {expires_at}",
                reason_code.as_str()
            ),
            Self::SafeguardingOverride { basis, reason } => {
                write!(
                    f,
                    "override: safeguarding without consent, {}: {reason}",
                    basis.citation()
                )
            }
            Self::SafeguardingOverrideRejected { why } => {
                write!(f, "override: safeguarding override not accepted, {why}")
            }
            Self::ConsentSetAside { basis } => write!(
                f,
                "consent: shared without consent on a safeguarding basis, {}",
                basis.citation()
            ),
            Self::OptOutExemption { exemption } => {
                write!(f, "opt-out: National Data Opt-out set aside, {exemption}")
            }
            Self::LocationOverride { reason } => {
                write!(
                    f,
                    "override: location of a sensitive child disclosed: {reason}"
                )
            }
            Self::Rule(rule) => write!(f, "rule: {} ({})", rule.id, rule.reason),
            Self::DefaultDeny => write!(f, "rule: default deny (no rule permits this request)"),
            Self::PolicyError { message } => write!(f, "error: {message}"),
        }
    }
}

/// The answer to a [`SharingRequest`], with everything needed to explain and audit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub tier: Tier,
    pub actor: Actor,
    pub purpose: Option<Purpose>,
    pub child: String,
    pub holder: String,
    pub category: DataCategory,
    pub decided_at: Timestamp,
    /// Fields that may be sent (empty on a deny).
    pub disclosed: Vec<Field>,
    /// Fields of the tier that are held back, and why (empty on a deny).
    pub withheld: Vec<Withheld>,
    /// Compartments to show as "restricted".
    pub restricted: Vec<Compartment>,
    pub reasons: Vec<Reason>,
    /// Consent is the basis and none valid is on record: the practitioner may seek it.
    /// Never set when consent is not the basis.
    pub consent_prompt: bool,
    /// A break-glass grant, a safeguarding override or a location override made this permit.
    pub overridden: bool,
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        self.outcome == Outcome::Permit
    }

    /// The agreement the decision rests on, as `(id, version)`.
    pub fn agreement(&self) -> Option<(&str, u32)> {
        self.reasons.iter().find_map(|r| match r {
            Reason::Agreement { id, version } => Some((id.as_str(), *version)),
            _ => None,
        })
    }

    /// Whether a safeguarding basis was recorded: the agreement's own (Sch 1 para 18 or
    /// Sch 8 para 4) or a practitioner's accepted override.
    pub fn safeguarding_basis_recorded(&self) -> bool {
        self.reasons.iter().any(|r| {
            matches!(
                r,
                Reason::SafeguardingOverride { .. } | Reason::ConsentSetAside { .. }
            ) || matches!(r, Reason::LawfulBasis { dpa2018: Some(d), .. } if d.is_safeguarding())
        })
    }

    /// The consent state the decision saw, if consent was looked at.
    pub fn consent(&self) -> Option<&ConsentState> {
        self.reasons.iter().find_map(|r| match r {
            Reason::Consent { state, .. } => Some(state),
            _ => None,
        })
    }

    /// The decision as one audit ledger entry at position `seq`.
    pub fn ledger_entry(&self, seq: u64) -> ledger::Entry {
        ledger::Entry {
            seq,
            time: self.decided_at.to_string(),
            kind: if self.overridden {
                ledger::EventKind::Override
            } else {
                ledger::EventKind::Decision
            },
            actor_user: self.actor.user.clone(),
            actor_org: self.actor.org.clone(),
            role: self.actor.role.clone(),
            purpose: self.purpose.map(|p| p.as_str().to_string()),
            subject: Some(self.child.clone()),
            decision: Some(match self.outcome {
                Outcome::Permit => ledger::Decision::Permit,
                Outcome::Deny => ledger::Decision::Deny,
            }),
            reasons: self.reasons.iter().map(ToString::to_string).collect(),
            details: json!({
                "tier": self.tier.as_str(),
                "holder": self.holder,
                "category": self.category.as_str(),
                "disclosed": self.disclosed.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "withheld": self.withheld.iter().map(|w| json!({
                    "field": w.field.as_str(),
                    "why": serde_json::to_value(w.why).unwrap_or_default(),
                })).collect::<Vec<_>>(),
                "restricted": self.restricted.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "reasons": serde_json::to_value(&self.reasons).unwrap_or_default(),
                "consent_prompt": self.consent_prompt,
            }),
        }
    }

    /// A short, human explanation, one reason a line.
    pub fn explain(&self) -> String {
        let mut out = format!(
            "{} {} of {}'s {} record about {} for {}\n",
            match self.outcome {
                Outcome::Permit => "PERMIT",
                Outcome::Deny => "DENY",
            },
            self.tier,
            self.holder,
            self.category,
            self.child,
            self.purpose.map_or("no purpose", Purpose::as_str),
        );
        for reason in &self.reasons {
            out.push_str("  - ");
            out.push_str(&reason.to_string());
            out.push('\n');
        }
        if !self.disclosed.is_empty() {
            let names: Vec<_> = self.disclosed.iter().map(|f| f.as_str()).collect();
            out.push_str(&format!("  disclosed: {}\n", names.join(", ")));
        }
        if !self.withheld.is_empty() {
            let names: Vec<_> = self
                .withheld
                .iter()
                .map(|w| {
                    let why = match w.why {
                        WithheldWhy::NotInFieldProfile => "not in field profile",
                        WithheldWhy::SensitivePerson => "sensitive person",
                        WithheldWhy::Restricted => "restricted",
                    };
                    format!("{} ({why})", w.field)
                })
                .collect();
            out.push_str(&format!("  withheld: {}\n", names.join(", ")));
        }
        if self.consent_prompt {
            out.push_str("  consent may be sought: consent is the basis for this purpose\n");
        }
        out
    }
}

/// The in-force agreement for a request: the actor's and the holder's organisations are both
/// parties, the purpose and category are covered. When several match, one that allows the
/// actor's role wins, then the most recently started, then the higher version, then the id
/// (so the choice never depends on the order files were loaded in).
fn find_agreement<'s>(
    state: &'s GovernanceState,
    request: &SharingRequest,
    purpose: Purpose,
    today: Date,
) -> Option<(&'s Agreement, &'s PurposeTerms)> {
    state
        .agreements_for(&request.actor.org, purpose)
        .filter(|a| a.is_in_force(today))
        .filter(|a| a.has_party(&request.holder))
        .filter(|a| a.data_categories.contains(&request.category))
        .filter_map(|a| a.purposes.get(&purpose).map(|t| (a, t)))
        .max_by(|(a, ta), (b, tb)| {
            let role = |t: &PurposeTerms| t.roles.contains(&request.actor.role);
            role(ta)
                .cmp(&role(tb))
                .then(a.start.cmp(&b.start))
                .then(a.version.cmp(&b.version))
                .then_with(|| b.id.cmp(&a.id))
        })
}

/// Decide one request at `now` (UTC; dates compare on the UTC calendar day).
///
/// INVARIANT: a permit needs a declared purpose and an in-force agreement; everything else
/// (relationship, consent, opt-out, break-glass, overrides) only narrows or documents it.
pub fn decide(
    engine: &PolicyEngine,
    state: &GovernanceState,
    request: &SharingRequest,
    now: Timestamp,
) -> Decision {
    decide_with_relationships(engine, state, request, &[], now)
}

/// [`decide`], also counting relationships the caller knows of outside the state — such as
/// the one an organisation has because it holds the child's record (a GP registration, a
/// school enrolment, a current hospital episode).
pub fn decide_with_relationships(
    engine: &PolicyEngine,
    state: &GovernanceState,
    request: &SharingRequest,
    held: &[crate::state::Relationship],
    now: Timestamp,
) -> Decision {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let actor = &request.actor;
    let child = state.child(&request.child);
    let mut reasons = Vec::new();

    let matched = match request.purpose {
        None => {
            reasons.push(Reason::NoPurpose);
            None
        }
        Some(purpose) => {
            let found = find_agreement(state, request, purpose, today);
            if found.is_none() {
                reasons.push(Reason::NoAgreement {
                    org: actor.org.clone(),
                    holder: request.holder.clone(),
                    category: request.category,
                });
            }
            found.map(|(a, t)| (purpose, a, t))
        }
    };

    let mut agreement_facts = AgreementFacts::default();
    let mut consent_state = ConsentState::None;
    let mut safeguarding_override = false;
    let mut relationship_current = false;
    let mut break_glass = None;

    if let Some((purpose, agreement, terms)) = matched {
        reasons.push(Reason::Agreement {
            id: agreement.id.clone(),
            version: agreement.version,
        });
        reasons.push(Reason::LawfulBasis {
            art6: terms.art6,
            art9: terms.art9,
            dpa2018: terms.dpa2018,
        });
        let role_permitted = terms.roles.contains(&actor.role);
        if !role_permitted {
            reasons.push(Reason::RoleNotInAgreement {
                role: actor.role.clone(),
            });
        }
        let opted_out = state.is_opted_out(&request.child);
        agreement_facts = AgreementFacts {
            matched: true,
            role_permitted,
            max_tier: Some(terms.max_tier),
            consent_is_basis: terms.consent_is_basis(),
            safeguarding_basis: terms.is_safeguarding_basis(),
            opt_out_exemption: terms.opt_out_exemption.is_some(),
        };
        if opted_out
            && purpose.is_secondary_use()
            && request.category == DataCategory::Health
            && let Some(exemption) = &terms.opt_out_exemption
        {
            reasons.push(Reason::OptOutExemption {
                exemption: exemption.clone(),
            });
        }

        // Consent: looked at whenever any consent record could matter, so a withdrawal or a
        // refusal is never missed even when consent is not the basis.
        let age = child.and_then(|c| c.age_on(today));
        let (authority, authority_why) =
            consent::consent_authority(age, state.competence_for(&request.child));
        consent_state = consent::evaluate(
            state.consents_for(&request.child),
            purpose,
            request.category,
            &actor.org,
            today,
            authority,
        );
        let consent_looked_at = terms.consent_is_basis() || consent_state != ConsentState::None;
        if consent_looked_at {
            reasons.push(Reason::Consent {
                state: consent_state.clone(),
                authority,
                authority_why: authority_why.to_string(),
            });
        }

        if let Some(o) = &request.safeguarding {
            let police = agreement
                .parties
                .iter()
                .any(|p| p.code == actor.org && p.kind == PartyKind::Police);
            let expected = if police {
                Dpa2018Condition::Sch8Para4
            } else {
                Dpa2018Condition::Sch1Para18
            };
            if o.reason.trim().is_empty() {
                reasons.push(Reason::SafeguardingOverrideRejected {
                    why: "no reason was given".into(),
                });
            } else if o.basis != expected {
                reasons.push(Reason::SafeguardingOverrideRejected {
                    why: format!(
                        "the basis for this organisation is {}, not {}",
                        expected.citation(),
                        o.basis.citation()
                    ),
                });
            } else {
                safeguarding_override = true;
                reasons.push(Reason::SafeguardingOverride {
                    basis: o.basis,
                    reason: o.reason.trim().to_string(),
                });
            }
        }

        if !purpose.is_secondary_use() {
            // The most specific current relationship: a named worker before a team before
            // the organisation as a whole.
            let relationship = state
                .relationships_for(&request.child)
                .chain(held.iter().filter(|r| r.child == request.child))
                .filter(|r| r.is_current(today) && r.holds_for(actor))
                .max_by_key(|r| (r.user.is_some(), r.team.is_some()));
            match relationship {
                Some(r) => {
                    relationship_current = true;
                    reasons.push(Reason::Relationship {
                        id: r.id.clone(),
                        relationship: r.kind,
                        until: r.end,
                    });
                }
                None => {
                    break_glass = state
                        .break_glass_for(&request.child)
                        .filter(|g| g.covers(actor, &request.child, purpose, now))
                        .max_by_key(|g| g.expires_at);
                    if break_glass.is_none() {
                        reasons.push(Reason::NoRelationship);
                    }
                }
            }
        }
    }

    let facts = Facts {
        user: &actor.user,
        org: &actor.org,
        role: &actor.role,
        child: &request.child,
        opted_out: state.is_opted_out(&request.child),
        sensitive: child.is_some_and(|c| c.sensitivity.is_some()),
        purpose: request.purpose.map_or("", Purpose::as_str),
        tier: request.tier,
        category: request.category.as_str(),
        agreement: agreement_facts,
        relationship_current,
        break_glass_active: break_glass.is_some(),
        break_glass_max_tier: break_glass.map_or(Tier::Existence, |g| g.max_tier),
        consent: consent_state.as_str(),
        safeguarding_override,
    };
    let verdict = engine.view(&facts);
    let allowed = verdict.allowed;
    let used_break_glass = allowed && break_glass.is_some() && !relationship_current;
    if let Some(g) = break_glass.filter(|_| used_break_glass) {
        reasons.push(Reason::BreakGlass {
            grant: g.id.clone(),
            reason_code: g.reason_code,
            expires_at: g.expires_at,
        });
    }
    if verdict.rules.is_empty() && verdict.errors.is_empty() && !allowed {
        reasons.push(Reason::DefaultDeny);
    }
    reasons.extend(verdict.rules.into_iter().map(Reason::Rule));
    reasons.extend(
        verdict
            .errors
            .into_iter()
            .map(|message| Reason::PolicyError { message }),
    );

    let consent_prompt = !allowed
        && agreement_facts.consent_is_basis
        && matches!(
            consent_state,
            ConsentState::None | ConsentState::Invalid { .. }
        );

    let mut decision = Decision {
        outcome: if allowed {
            Outcome::Permit
        } else {
            Outcome::Deny
        },
        tier: request.tier,
        actor: actor.clone(),
        purpose: request.purpose,
        child: request.child.clone(),
        holder: request.holder.clone(),
        category: request.category,
        decided_at: now,
        disclosed: Vec::new(),
        withheld: Vec::new(),
        restricted: Vec::new(),
        reasons,
        consent_prompt,
        overridden: used_break_glass,
    };
    if let (true, Some((_, _, terms))) = (allowed, matched) {
        // Consent stood in the way (refused, withdrawn, or the basis and not given) and a
        // safeguarding basis set it aside: say so, with the basis. It is an override when the
        // practitioner's own recorded reason did it rather than the agreement's basis.
        let consent_in_the_way = matches!(
            consent_state,
            ConsentState::Refused { .. } | ConsentState::Withdrawn { .. }
        ) || (terms.consent_is_basis()
            && !matches!(consent_state, ConsentState::Granted { .. }));
        if consent_in_the_way {
            let basis = match (&request.safeguarding, terms.dpa2018) {
                (Some(o), _) if safeguarding_override => Some(o.basis),
                (_, Some(d)) if d.is_safeguarding() => Some(d),
                _ => None,
            };
            if let Some(basis) = basis {
                decision.reasons.push(Reason::ConsentSetAside { basis });
            }
            decision.overridden |= safeguarding_override;
        }
        minimise(engine, &facts, request, child, terms, &mut decision);
    }
    decision
}

/// Narrow a permitted tier to the fields this purpose needs and this child may show.
fn minimise(
    engine: &PolicyEngine,
    facts: &Facts<'_>,
    request: &SharingRequest,
    child: Option<&crate::state::ChildFacts>,
    terms: &PurposeTerms,
    decision: &mut Decision,
) {
    let restricted = child.map_or(&[][..], |c| c.restricted.as_slice());
    let wants_location = request
        .tier
        .fields()
        .iter()
        .any(|f| f.is_location() && terms.fields.contains(f));
    // Ask the location rule only when it can matter: a sensitive child and location in scope.
    let location_ok = if facts.sensitive && wants_location {
        let override_reason = request
            .location_override
            .as_ref()
            .map(|o| o.reason.trim())
            .filter(|r| !r.is_empty());
        let verdict = engine.location(facts, override_reason.is_some());
        if verdict.allowed {
            if let Some(reason) = override_reason {
                decision.reasons.push(Reason::LocationOverride {
                    reason: reason.to_string(),
                });
                decision.overridden = true;
            }
        } else {
            decision
                .reasons
                .extend(verdict.rules.into_iter().map(Reason::Rule));
        }
        verdict.allowed
    } else {
        true
    };
    for &field in request.tier.fields() {
        let why = if field == Field::Exists {
            None
        } else if !terms.fields.contains(&field) {
            Some(WithheldWhy::NotInFieldProfile)
        } else if let Some(c) = field.compartment().filter(|c| restricted.contains(c)) {
            decision.restricted.push(c);
            Some(WithheldWhy::Restricted)
        } else if field.is_location() && !location_ok {
            Some(WithheldWhy::SensitivePerson)
        } else {
            None
        };
        match why {
            None => decision.disclosed.push(field),
            Some(why) => decision.withheld.push(Withheld { field, why }),
        }
    }
}
