//! Information-sharing agreements as data: who shares what, for which purpose, on which
//! lawful basis, and the minimum fields each purpose may see. Validation is pure; reading
//! files is [`crate::loader`]'s job.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::vocab::{DataCategory, Field, Purpose, Tier};

/// A versioned information-sharing agreement between organisations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Stable identifier, e.g. `ISA-LEEDS-SAFEGUARDING`.
    pub id: String,
    /// Increases with every change signed off; decisions cite `id@version`.
    pub version: u32,
    pub title: String,
    /// Who owns the agreement (usually a Caldicott guardian or IG lead) and answers for it.
    pub owner: String,
    pub parties: Vec<Party>,
    pub data_categories: Vec<DataCategory>,
    /// First day the agreement applies.
    #[serde(deserialize_with = "date_field::deserialize")]
    pub start: Date,
    /// Last day the agreement applies.
    #[serde(deserialize_with = "date_field::deserialize")]
    pub end: Date,
    /// When the parties must next review it; it still applies after, but is reported overdue.
    #[serde(deserialize_with = "date_field::deserialize")]
    pub review: Date,
    /// The purposes the agreement allows, each with its lawful basis and field profile.
    pub purposes: BTreeMap<Purpose, PurposeTerms>,
}

/// An organisation that signed the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Organisation code as used across Kith (ODS code, LA code, URN, force code).
    pub code: String,
    pub name: String,
    pub kind: PartyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    Health,
    LocalAuthority,
    School,
    Police,
    Housing,
    Voluntary,
}

/// What the agreement allows for one purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeTerms {
    /// UK GDPR Article 6 basis.
    pub art6: Art6,
    /// UK GDPR Article 9 condition, required when special-category data is shared.
    #[serde(default)]
    pub art9: Option<Art9>,
    /// The DPA 2018 Schedule 1 (or, for law enforcement, Schedule 8) condition that Art 9
    /// points to.
    #[serde(default)]
    pub dpa2018: Option<Dpa2018Condition>,
    /// The roles that may ask under this purpose.
    pub roles: Vec<String>,
    /// The highest tier this purpose may reach.
    pub max_tier: Tier,
    /// The minimum fields this purpose needs; anything else is withheld.
    pub fields: Vec<Field>,
    /// Why the National Data Opt-out does not apply, when it is set aside (e.g. section 251
    /// support with its reference). Recorded in every decision that uses it.
    #[serde(default)]
    pub opt_out_exemption: Option<String>,
}

impl PurposeTerms {
    /// Consent is the basis: without a valid consent nothing is shared (safeguarding aside).
    pub fn consent_is_basis(&self) -> bool {
        self.art6 == Art6::Consent || self.art9 == Some(Art9::ExplicitConsent)
    }

    /// A safeguarding condition (DPA 2018 Sch 1 para 18 or Sch 8 para 4) is the basis.
    pub fn is_safeguarding_basis(&self) -> bool {
        self.dpa2018.is_some_and(Dpa2018Condition::is_safeguarding)
    }
}

/// UK GDPR Article 6(1) lawful bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Art6 {
    /// 6(1)(a)
    Consent,
    /// 6(1)(c)
    LegalObligation,
    /// 6(1)(d)
    VitalInterests,
    /// 6(1)(e)
    PublicTask,
    /// 6(1)(f); not available to public authorities performing their tasks.
    LegitimateInterests,
}

impl Art6 {
    pub fn citation(self) -> &'static str {
        match self {
            Self::Consent => "UK GDPR Art 6(1)(a) consent",
            Self::LegalObligation => "UK GDPR Art 6(1)(c) legal obligation",
            Self::VitalInterests => "UK GDPR Art 6(1)(d) vital interests",
            Self::PublicTask => "UK GDPR Art 6(1)(e) public task",
            Self::LegitimateInterests => "UK GDPR Art 6(1)(f) legitimate interests",
        }
    }
}

/// UK GDPR Article 9(2) conditions for special-category data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Art9 {
    /// 9(2)(a)
    ExplicitConsent,
    /// 9(2)(c)
    VitalInterests,
    /// 9(2)(g), with a DPA 2018 Sch 1 Part 2 condition
    SubstantialPublicInterest,
    /// 9(2)(h), with DPA 2018 Sch 1 para 2
    HealthOrSocialCare,
    /// 9(2)(i), with DPA 2018 Sch 1 para 3
    PublicHealth,
    /// 9(2)(j), with DPA 2018 Sch 1 para 4
    ArchivingResearchStatistics,
}

impl Art9 {
    pub fn citation(self) -> &'static str {
        match self {
            Self::ExplicitConsent => "UK GDPR Art 9(2)(a) explicit consent",
            Self::VitalInterests => "UK GDPR Art 9(2)(c) vital interests",
            Self::SubstantialPublicInterest => "UK GDPR Art 9(2)(g) substantial public interest",
            Self::HealthOrSocialCare => "UK GDPR Art 9(2)(h) health or social care",
            Self::PublicHealth => "UK GDPR Art 9(2)(i) public health",
            Self::ArchivingResearchStatistics => {
                "UK GDPR Art 9(2)(j) archiving, research and statistics"
            }
        }
    }
}

/// Data Protection Act 2018 conditions, Schedule 1 (general processing) and Schedule 8
/// (law enforcement, Part 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dpa2018Condition {
    /// Sch 1 para 2: health or social care purposes.
    Sch1Para2,
    /// Sch 1 para 3: public health.
    Sch1Para3,
    /// Sch 1 para 4: research.
    Sch1Para4,
    /// Sch 1 para 6: statutory and government purposes.
    Sch1Para6,
    /// Sch 1 para 18: safeguarding of children and individuals at risk.
    Sch1Para18,
    /// Sch 8 para 1: statutory purposes (law enforcement).
    Sch8Para1,
    /// Sch 8 para 4: safeguarding of children and individuals at risk (law enforcement).
    Sch8Para4,
}

impl Dpa2018Condition {
    pub fn citation(self) -> &'static str {
        match self {
            Self::Sch1Para2 => "DPA 2018 Sch 1 para 2 health or social care",
            Self::Sch1Para3 => "DPA 2018 Sch 1 para 3 public health",
            Self::Sch1Para4 => "DPA 2018 Sch 1 para 4 research",
            Self::Sch1Para6 => "DPA 2018 Sch 1 para 6 statutory purposes",
            Self::Sch1Para18 => "DPA 2018 Sch 1 para 18 safeguarding of children",
            Self::Sch8Para1 => "DPA 2018 Sch 8 para 1 statutory purposes",
            Self::Sch8Para4 => "DPA 2018 Sch 8 para 4 safeguarding of children",
        }
    }

    pub fn is_safeguarding(self) -> bool {
        matches!(self, Self::Sch1Para18 | Self::Sch8Para4)
    }

    fn is_schedule8(self) -> bool {
        matches!(self, Self::Sch8Para1 | Self::Sch8Para4)
    }
}

/// Dates in agreements may be written as TOML dates (`start = 2026-01-01`) or as strings
/// (`"2026-01-01"`, as JSON holds them).
mod date_field {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Toml(toml::value::Datetime),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Text(text) => text
                .parse()
                .map_err(|e| D::Error::custom(format!("invalid date `{text}`: {e}"))),
            Raw::Toml(dt) => match (dt.date, dt.time) {
                (Some(date), None) => {
                    let bad = || D::Error::custom(format!("invalid date `{dt}`"));
                    Date::new(
                        i16::try_from(date.year).map_err(|_| bad())?,
                        i8::try_from(date.month).map_err(|_| bad())?,
                        i8::try_from(date.day).map_err(|_| bad())?,
                    )
                    .map_err(|e| D::Error::custom(format!("invalid date `{dt}`: {e}")))
                }
                _ => Err(D::Error::custom(format!(
                    "expected a date like 2026-04-01, found `{dt}`"
                ))),
            },
        }
    }
}

/// A problem with one field of an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted path of the field, e.g. `purposes.early_help.art9`.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.problem)
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

impl Agreement {
    /// `id@version`, as decisions and the ledger cite it.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Whether the agreement applies on `today` (start and end inclusive).
    pub fn is_in_force(&self, today: Date) -> bool {
        self.start <= today && today <= self.end
    }

    pub fn review_overdue(&self, today: Date) -> bool {
        self.review < today && today <= self.end
    }

    pub fn has_party(&self, code: &str) -> bool {
        self.parties.iter().any(|p| p.code == code)
    }

    /// Every problem with the agreement, in field order; empty when it is valid.
    pub fn problems(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        if self.id.trim().is_empty() {
            out.push(invalid("id", "must not be empty"));
        }
        if self.version == 0 {
            out.push(invalid("version", "must be 1 or more"));
        }
        if self.owner.trim().is_empty() {
            out.push(invalid("owner", "must name who answers for the agreement"));
        }
        if self.parties.len() < 2 {
            out.push(invalid(
                "parties",
                "an agreement needs at least two organisations",
            ));
        }
        let mut codes = BTreeSet::new();
        for (i, party) in self.parties.iter().enumerate() {
            if party.code.trim().is_empty() {
                out.push(invalid(format!("parties[{i}].code"), "must not be empty"));
            } else if !codes.insert(party.code.as_str()) {
                out.push(invalid(
                    format!("parties[{i}].code"),
                    format!("`{}` is listed twice", party.code),
                ));
            }
        }
        if self.data_categories.is_empty() {
            out.push(invalid(
                "data_categories",
                "must name at least one category",
            ));
        }
        if self.end < self.start {
            out.push(invalid(
                "end",
                format!("`{}` is before start `{}`", self.end, self.start),
            ));
        }
        if self.review < self.start || self.review > self.end {
            out.push(invalid(
                "review",
                format!(
                    "`{}` must fall between start `{}` and end `{}`",
                    self.review, self.start, self.end
                ),
            ));
        }
        if self.purposes.is_empty() {
            out.push(invalid("purposes", "must allow at least one purpose"));
        }
        let special = self.data_categories.iter().any(|c| c.is_special_category());
        let has_police = self.parties.iter().any(|p| p.kind == PartyKind::Police);
        for (purpose, terms) in &self.purposes {
            let at = |name: &str| format!("purposes.{purpose}.{name}");
            if terms.roles.is_empty() || terms.roles.iter().any(|r| r.trim().is_empty()) {
                out.push(invalid(
                    at("roles"),
                    "must list at least one role, none empty",
                ));
            }
            if terms.fields.is_empty() {
                out.push(invalid(at("fields"), "must list the minimum fields"));
            }
            let allowed = terms.max_tier.fields();
            for field in &terms.fields {
                if !allowed.contains(field) {
                    out.push(invalid(
                        at("fields"),
                        format!("`{field}` is above max_tier `{}`", terms.max_tier),
                    ));
                }
            }
            if special && terms.art9.is_none() {
                out.push(invalid(
                    at("art9"),
                    "health data is special category: an Art 9 condition is required",
                ));
            }
            match (terms.art9, terms.dpa2018) {
                (Some(Art9::HealthOrSocialCare), c) if c != Some(Dpa2018Condition::Sch1Para2) => {
                    out.push(invalid(at("dpa2018"), "Art 9(2)(h) needs `sch1_para2`"));
                }
                (Some(Art9::PublicHealth), c) if c != Some(Dpa2018Condition::Sch1Para3) => {
                    out.push(invalid(at("dpa2018"), "Art 9(2)(i) needs `sch1_para3`"));
                }
                (Some(Art9::ArchivingResearchStatistics), c)
                    if c != Some(Dpa2018Condition::Sch1Para4) =>
                {
                    out.push(invalid(at("dpa2018"), "Art 9(2)(j) needs `sch1_para4`"));
                }
                (Some(Art9::SubstantialPublicInterest), c)
                    if !matches!(
                        c,
                        Some(
                            Dpa2018Condition::Sch1Para6
                                | Dpa2018Condition::Sch1Para18
                                | Dpa2018Condition::Sch8Para1
                                | Dpa2018Condition::Sch8Para4
                        )
                    ) =>
                {
                    out.push(invalid(
                        at("dpa2018"),
                        "Art 9(2)(g) needs a substantial public interest condition such as `sch1_para18`",
                    ));
                }
                _ => {}
            }
            if let Some(condition) = terms.dpa2018
                && condition.is_schedule8()
                && !has_police
            {
                out.push(invalid(
                    at("dpa2018"),
                    "a Schedule 8 condition applies only to law enforcement: no police party",
                ));
            }
            if *purpose == Purpose::SafeguardingS47 && !terms.is_safeguarding_basis() {
                out.push(invalid(
                    at("dpa2018"),
                    "safeguarding needs `sch1_para18` or `sch8_para4`",
                ));
            }
            if *purpose == Purpose::SafeguardingS47 && terms.consent_is_basis() {
                out.push(invalid(
                    at("art6"),
                    "safeguarding must not rest on consent: asking may put the child at risk",
                ));
            }
            if let Some(exemption) = &terms.opt_out_exemption {
                if !purpose.is_secondary_use() {
                    out.push(invalid(
                        at("opt_out_exemption"),
                        "the National Data Opt-out never applies to this purpose",
                    ));
                } else if exemption.trim().is_empty() {
                    out.push(invalid(
                        at("opt_out_exemption"),
                        "must say why (e.g. section 251 reference)",
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Agreement {
        let text = include_str!("../tests/data/agreement.toml");
        match toml::from_str(text) {
            Ok(a) => a,
            Err(e) => unreachable!("sample agreement: {e}"),
        }
    }

    #[test]
    fn sample_is_valid() {
        assert_eq!(sample().problems(), vec![]);
    }

    #[test]
    fn health_without_art9_is_named() {
        let mut a = sample();
        if let Some(terms) = a.purposes.get_mut(&Purpose::SafeguardingS47) {
            terms.art9 = None;
        }
        let problems = a.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "purposes.safeguarding_s47.art9");
    }

    #[test]
    fn end_before_start_is_named() {
        let mut a = sample();
        a.end = a.start.yesterday().unwrap_or(a.start);
        let fields: Vec<_> = a.problems().into_iter().map(|p| p.field).collect();
        assert!(fields.contains(&"end".to_string()), "{fields:?}");
    }

    #[test]
    fn schedule8_without_police_is_named() {
        let mut a = sample();
        a.parties.retain(|p| p.kind != PartyKind::Police);
        a.parties.push(Party {
            code: "X1".into(),
            name: "x".into(),
            kind: PartyKind::Housing,
        });
        let fields: Vec<_> = a.problems().into_iter().map(|p| p.field).collect();
        assert!(fields.iter().any(|f| f.ends_with(".dpa2018")), "{fields:?}");
    }
}
