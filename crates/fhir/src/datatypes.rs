//! The FHIR R4 datatypes that Kith's resources are built from, with only the elements Kith uses.
//!
//! Dates, date-times and instants are kept as the FHIR strings the caller formats: this crate has
//! no clock and does not choose a time library for its callers.

use serde::{Deserialize, Serialize};

use crate::systems;

/// A code from a code system (`Coding`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    /// A coding with a system, a code and a display text.
    pub fn new(system: &str, code: &str, display: &str) -> Coding {
        Coding {
            system: Some(system.to_string()),
            version: None,
            code: Some(code.to_string()),
            display: Some(display.to_string()),
        }
    }
}

/// One or more codings of a concept, and its text (`CodeableConcept`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    /// A concept with one coding; the text repeats the display.
    pub fn coded(system: &str, code: &str, display: &str) -> CodeableConcept {
        CodeableConcept {
            coding: vec![Coding::new(system, code, display)],
            text: Some(display.to_string()),
        }
    }

    /// A concept known only by its text.
    pub fn text(text: &str) -> CodeableConcept {
        CodeableConcept {
            coding: Vec::new(),
            text: Some(text.to_string()),
        }
    }
}

/// A time range; either end may be open. Values are FHIR `dateTime` strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl Period {
    /// A period from `start`, open or closed at `end`.
    pub fn new(start: Option<&str>, end: Option<&str>) -> Period {
        Period {
            start: start.map(str::to_string),
            end: end.map(str::to_string),
        }
    }
}

/// A reference to another resource, by URL, by identifier, or both (`Reference`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Box<Identifier>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// A literal reference such as `Patient/K000000019`.
    pub fn to(reference: &str) -> Reference {
        Reference {
            reference: Some(reference.to_string()),
            ..Reference::default()
        }
    }

    /// A reference to a Kith patient by CCI: `Patient/{cci}`.
    pub fn patient(cci: &str) -> Reference {
        Reference::to(&format!("Patient/{cci}"))
    }

    /// A logical reference to an organisation by its ODS code, with its name for display.
    pub fn organisation(ods_code: &str, name: &str) -> Reference {
        Reference {
            reference: None,
            resource_type: Some("Organization".to_string()),
            identifier: Some(Box::new(Identifier::new(
                systems::ODS_ORGANISATION_CODE,
                ods_code,
            ))),
            display: Some(name.to_string()),
        }
    }

    /// Adds a display text.
    pub fn with_display(mut self, display: &str) -> Reference {
        self.display = Some(display.to_string());
        self
    }
}

/// An identifier in a namespace (`Identifier`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigner: Option<Box<Reference>>,
}

impl Identifier {
    /// An identifier with a system and a value.
    pub fn new(system: &str, value: &str) -> Identifier {
        Identifier {
            system: Some(system.to_string()),
            value: Some(value.to_string()),
            ..Identifier::default()
        }
    }

    /// A Kith consistent child identifier, marked `official`.
    pub fn cci(cci: &str) -> Identifier {
        Identifier {
            use_: Some("official".to_string()),
            ..Identifier::new(systems::KITH_CCI, cci)
        }
    }

    /// An NHS number with its UK Core verification status extension.
    pub fn nhs_number(
        nhs_number: &model::NhsNumber,
        status: systems::NhsNumberVerificationStatus,
    ) -> Identifier {
        Identifier {
            extension: vec![Extension::with_value(
                systems::NHS_NUMBER_VERIFICATION_STATUS_EXTENSION,
                Value::CodeableConcept(CodeableConcept {
                    coding: vec![Coding::new(
                        systems::NHS_NUMBER_VERIFICATION_STATUS_SYSTEM,
                        status.code(),
                        status.display(),
                    )],
                    text: None,
                }),
            )],
            ..Identifier::new(systems::NHS_NUMBER, nhs_number.as_str())
        }
    }
}

/// A person's name (`HumanName`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanName {
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// A telephone number, email address or other contact (`ContactPoint`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactPoint {
    /// `phone | fax | email | pager | url | sms | other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `home | work | temp | old | mobile`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

impl ContactPoint {
    /// A work telephone number.
    pub fn work_phone(number: &str) -> ContactPoint {
        ContactPoint {
            system: Some("phone".to_string()),
            value: Some(number.to_string()),
            use_: Some("work".to_string()),
            ..ContactPoint::default()
        }
    }

    /// A work email address.
    pub fn work_email(address: &str) -> ContactPoint {
        ContactPoint {
            system: Some("email".to_string()),
            value: Some(address.to_string()),
            use_: Some("work".to_string()),
            ..ContactPoint::default()
        }
    }
}

/// A postal address (`Address`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// Resource metadata: version, last update, profiles and security labels (`Meta`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Coding>,
}

impl Meta {
    /// Metadata that claims one profile.
    pub fn profile(url: &str) -> Meta {
        Meta {
            profile: vec![url.to_string()],
            ..Meta::default()
        }
    }
}

/// Human-readable text of a resource (`Narrative`); `div` is XHTML.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Narrative {
    /// `generated | extensions | additional | empty`.
    pub status: String,
    pub div: String,
}

/// A `value[x]` choice, as carried by extensions and operation parameters.
///
/// Each variant serialises under its FHIR name (`valueCode`, `valueString`, …), so the enum is
/// flattened into its parent object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    #[serde(rename = "valueInteger")]
    Integer(i64),
    #[serde(rename = "valueDecimal")]
    Decimal(f64),
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueCode")]
    Code(String),
    #[serde(rename = "valueUri")]
    Uri(String),
    #[serde(rename = "valueDate")]
    Date(String),
    #[serde(rename = "valueDateTime")]
    DateTime(String),
    #[serde(rename = "valueCoding")]
    Coding(Coding),
    #[serde(rename = "valueCodeableConcept")]
    CodeableConcept(CodeableConcept),
    #[serde(rename = "valueIdentifier")]
    Identifier(Identifier),
    #[serde(rename = "valueReference")]
    Reference(Reference),
    #[serde(rename = "valuePeriod")]
    Period(Period),
    #[serde(rename = "valueContactPoint")]
    ContactPoint(ContactPoint),
}

impl Value {
    /// The FHIR element name of this choice, such as `valueBoolean`.
    pub fn element_name(&self) -> &'static str {
        match self {
            Value::Boolean(_) => "valueBoolean",
            Value::Integer(_) => "valueInteger",
            Value::Decimal(_) => "valueDecimal",
            Value::String(_) => "valueString",
            Value::Code(_) => "valueCode",
            Value::Uri(_) => "valueUri",
            Value::Date(_) => "valueDate",
            Value::DateTime(_) => "valueDateTime",
            Value::Coding(_) => "valueCoding",
            Value::CodeableConcept(_) => "valueCodeableConcept",
            Value::Identifier(_) => "valueIdentifier",
            Value::Reference(_) => "valueReference",
            Value::Period(_) => "valuePeriod",
            Value::ContactPoint(_) => "valueContactPoint",
        }
    }
}

/// An extension: a URL and either one value or nested extensions (`Extension`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl Extension {
    /// A simple extension carrying one value.
    pub fn with_value(url: &str, value: Value) -> Extension {
        Extension {
            url: url.to_string(),
            extension: Vec::new(),
            value: Some(value),
        }
    }

    /// A complex extension made of nested extensions.
    pub fn complex(url: &str, parts: Vec<Extension>) -> Extension {
        Extension {
            url: url.to_string(),
            extension: parts,
            value: None,
        }
    }
}
