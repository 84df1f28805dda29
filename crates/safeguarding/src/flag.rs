//! What a safeguarding flag is, and the checks a published flag must pass before it is stored.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::Error;

/// The three kinds of flag NHS CP-IS carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagKind {
    /// The child is subject to a child protection plan.
    ChildProtectionPlan,
    /// The child is looked after by the local authority.
    LookedAfterChild,
    /// An unborn child subject to a pre-birth child protection plan (the flag is on the
    /// pregnancy, so maternity settings see it).
    UnbornChildProtectionPlan,
}

impl FlagKind {
    pub const ALL: [FlagKind; 3] = [
        FlagKind::ChildProtectionPlan,
        FlagKind::LookedAfterChild,
        FlagKind::UnbornChildProtectionPlan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::ChildProtectionPlan => "child-protection-plan",
            FlagKind::LookedAfterChild => "looked-after-child",
            FlagKind::UnbornChildProtectionPlan => "unborn-child-protection-plan",
        }
    }
}

impl fmt::Display for FlagKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FlagKind {
    type Err = Error;

    fn from_str(raw: &str) -> Result<FlagKind, Error> {
        FlagKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or_else(|| Error::UnknownFlagKind(raw.to_string()))
    }
}

/// A local authority: its ONS/DfE code (e.g. `E08000035`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuthority {
    pub code: String,
    pub name: String,
}

/// How to reach the owning social-care team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub phone: String,
    pub email: String,
}

/// A flag as children's social care publishes it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishFlag {
    pub cci: String,
    pub kind: String,
    pub owner: LocalAuthority,
    pub office_hours: Contact,
    pub out_of_hours: Contact,
    pub start_date: Date,
    pub end_date: Option<Date>,
    /// The publishing organisation's own reference for the plan or placement.
    pub reference: String,
    /// When the publishing system last changed this flag.
    pub source_updated_at: Timestamp,
}

/// A flag that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub cci: String,
    pub kind: FlagKind,
    pub owner: LocalAuthority,
    pub office_hours: Contact,
    pub out_of_hours: Contact,
    pub start_date: Date,
    pub end_date: Option<Date>,
    pub reference: String,
    pub source_updated_at: Timestamp,
}

impl Flag {
    /// Checks a published flag: a valid CCI, a known kind, an owner, every contact detail, and
    /// an end not before the start. The first problem is returned, naming the field.
    pub fn validate(input: PublishFlag) -> Result<Flag, Error> {
        let cci = parse_cci(&input.cci)?;
        let kind: FlagKind = input.kind.parse()?;
        const OWNER: &str = "a flag names the local authority that owns it";
        const REFERENCE: &str = "a flag carries the publishing authority's own reference";
        const CONTACT: &str =
            "a flag must say how to reach the owning authority in and out of office hours";
        let required = [
            ("owner.code", &input.owner.code, OWNER),
            ("owner.name", &input.owner.name, OWNER),
            ("reference", &input.reference, REFERENCE),
            ("office_hours.phone", &input.office_hours.phone, CONTACT),
            ("office_hours.email", &input.office_hours.email, CONTACT),
            ("out_of_hours.phone", &input.out_of_hours.phone, CONTACT),
            ("out_of_hours.email", &input.out_of_hours.email, CONTACT),
        ];
        for (field, value, why) in required {
            if value.trim().is_empty() {
                return Err(Error::Missing { field, why });
            }
        }
        for (field, email) in [
            ("office_hours.email", &input.office_hours.email),
            ("out_of_hours.email", &input.out_of_hours.email),
        ] {
            let valid = email
                .trim()
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if !valid {
                return Err(Error::InvalidEmail {
                    field,
                    value: email.clone(),
                });
            }
        }
        for (field, phone) in [
            ("office_hours.phone", &input.office_hours.phone),
            ("out_of_hours.phone", &input.out_of_hours.phone),
        ] {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            let allowed = phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-'));
            if !allowed || !(10..=13).contains(&digits) {
                return Err(Error::InvalidPhone {
                    field,
                    value: phone.clone(),
                });
            }
        }
        if let Some(end) = input.end_date
            && end < input.start_date
        {
            return Err(Error::EndBeforeStart {
                start: input.start_date,
                end,
            });
        }
        Ok(Flag {
            cci,
            kind,
            owner: LocalAuthority {
                code: input.owner.code.trim().to_string(),
                name: input.owner.name.trim().to_string(),
            },
            office_hours: trimmed(input.office_hours),
            out_of_hours: trimmed(input.out_of_hours),
            start_date: input.start_date,
            end_date: input.end_date,
            reference: input.reference.trim().to_string(),
            source_updated_at: input.source_updated_at,
        })
    }

    /// Whether the flag is in force on `date` (both ends inclusive).
    pub fn is_active_on(&self, date: Date) -> bool {
        self.start_date <= date && self.end_date.is_none_or(|end| end >= date)
    }
}

fn trimmed(contact: Contact) -> Contact {
    Contact {
        phone: contact.phone.trim().to_string(),
        email: contact.email.trim().to_string(),
    }
}

/// ISO 7064 MOD 11-2 check character of a digit string (as the registry issues CCIs).
fn cci_check(digits: &[u8]) -> char {
    let mut sum: u32 = 0;
    for &d in digits {
        sum = ((sum + u32::from(d - b'0')) * 2) % 11;
    }
    match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from(b'0' + n as u8),
    }
}

/// The CCI with this serial, as the registry issues them (for tests, benchmarks and demos).
pub fn cci_from_serial(serial: u32) -> String {
    let digits = format!("{serial:09}");
    format!("K{digits}{}", cci_check(digits.as_bytes()))
}

/// Checks a CCI (`K`, nine digits, MOD 11-2 check character) and returns it in canonical form.
pub fn parse_cci(raw: &str) -> Result<String, Error> {
    let text = raw.trim().to_ascii_uppercase();
    let invalid = |why: &'static str| Error::InvalidCci {
        value: raw.to_string(),
        why,
    };
    let body = text
        .strip_prefix('K')
        .ok_or_else(|| invalid("a CCI starts with `K`"))?;
    if body.len() != 10 {
        return Err(invalid("a CCI is `K`, 9 digits and a check character"));
    }
    let (digits, check) = body.split_at(9);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("characters 2 to 10 must be digits"));
    }
    if !check.starts_with(cci_check(digits.as_bytes())) {
        return Err(invalid("the check character does not match"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    pub(crate) fn publish() -> PublishFlag {
        PublishFlag {
            cci: "K000000001X".into(),
            kind: "child-protection-plan".into(),
            owner: LocalAuthority {
                code: "E08000035".into(),
                name: "Leeds".into(),
            },
            office_hours: Contact {
                phone: "0113 222 4403".into(),
                email: "cp@leeds.gov.uk".into(),
            },
            out_of_hours: Contact {
                phone: "0113 535 0600".into(),
                email: "edt@leeds.gov.uk".into(),
            },
            start_date: "2026-01-10".parse().unwrap(),
            end_date: None,
            reference: "CPP-1234".into(),
            source_updated_at: "2026-01-10T09:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_complete_flag_validates() {
        let flag = Flag::validate(publish()).unwrap();
        assert_eq!(flag.kind, FlagKind::ChildProtectionPlan);
        assert!(flag.is_active_on("2026-01-10".parse().unwrap()));
        assert!(!flag.is_active_on("2026-01-09".parse().unwrap()));
    }

    #[test]
    fn an_unknown_kind_is_named() {
        let error = Flag::validate(PublishFlag {
            kind: "child-in-need".into(),
            ..publish()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown flag kind `child-in-need`: use `child-protection-plan`, `looked-after-child` \
             or `unborn-child-protection-plan`"
        );
    }

    #[test]
    fn a_missing_contact_names_its_field() {
        let mut input = publish();
        input.out_of_hours.phone = " ".into();
        let error = Flag::validate(input).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing `out_of_hours.phone`: a flag must say how to reach the owning authority \
             in and out of office hours"
        );
    }

    #[test]
    fn a_malformed_email_and_phone_are_named() {
        let mut input = publish();
        input.office_hours.email = "cp-team".into();
        assert!(matches!(
            Flag::validate(input).unwrap_err(),
            Error::InvalidEmail {
                field: "office_hours.email",
                ..
            }
        ));
        let mut input = publish();
        input.out_of_hours.phone = "call us".into();
        assert!(matches!(
            Flag::validate(input).unwrap_err(),
            Error::InvalidPhone {
                field: "out_of_hours.phone",
                ..
            }
        ));
    }

    #[test]
    fn an_end_before_the_start_is_refused() {
        let error = Flag::validate(PublishFlag {
            end_date: Some("2026-01-09".parse().unwrap()),
            ..publish()
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`end_date` 2026-01-09 is before `start_date` 2026-01-10"
        );
    }

    #[test]
    fn cci_check_character_is_enforced() {
        assert_eq!(parse_cci(" k000000001x ").unwrap(), "K000000001X");
        assert!(parse_cci("K0000000011").is_err());
        assert!(parse_cci("K00000001X").is_err());
        assert!(parse_cci("000000001X").is_err());
        assert_eq!(cci_from_serial(1), "K000000001X");
        assert_eq!(
            parse_cci(&cci_from_serial(123_456_789)).unwrap(),
            cci_from_serial(123_456_789)
        );
    }
}
