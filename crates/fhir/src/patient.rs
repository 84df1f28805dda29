//! The Patient resource: a Kith person (one CCI) with the identifiers and demographics shared.

use model::NhsNumber;
use serde::{Deserialize, Serialize};

use crate::datatypes::{
    Address, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta, Narrative,
    Reference,
};
use crate::systems::{self, NhsNumberVerificationStatus};

/// Administrative gender (`male | female | other | unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdministrativeGender {
    Male,
    Female,
    Other,
    Unknown,
}

/// A FHIR R4 `Patient`, claiming the UK Core Patient profile when built by Kith.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Patient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Narrative>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<AdministrativeGender>,
    /// FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managing_organization: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<PatientLink>,
}

/// A link from one Patient to another: Kith uses `replaced-by` for a CCI retired by a merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientLink {
    pub other: Reference,
    /// `replaced-by | replaces | refer | seealso`.
    #[serde(rename = "type")]
    pub link_type: String,
}

/// The plain facts about one Kith person from which [`Patient::from_demographics`] builds a
/// Patient. Dates are FHIR `date` strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demographics {
    /// The person's consistent child identifier; also the Patient's id.
    pub cci: String,
    /// The NHS number and how far it was verified.
    pub nhs_number: Option<(NhsNumber, NhsNumberVerificationStatus)>,
    /// Further identifiers to show (UPN, agency-local ids), already in FHIR form.
    pub other_identifiers: Vec<Identifier>,
    pub given_names: Vec<String>,
    pub family_name: Option<String>,
    pub gender: Option<AdministrativeGender>,
    pub birth_date: Option<String>,
    pub address: Option<Address>,
    /// For a CCI retired by a merge: the CCI that replaced it.
    pub replaced_by: Option<String>,
}

impl Patient {
    /// Builds a UK Core Patient for a Kith person: CCI first, then the NHS number with its
    /// verification status, then other identifiers. A retired CCI is inactive and links to the
    /// CCI that replaced it.
    pub fn from_demographics(person: &Demographics) -> Patient {
        let mut identifier = vec![Identifier::cci(&person.cci)];
        if let Some((nhs_number, status)) = &person.nhs_number {
            identifier.push(Identifier::nhs_number(nhs_number, *status));
        }
        identifier.extend(person.other_identifiers.iter().cloned());
        let has_name = !person.given_names.is_empty() || person.family_name.is_some();
        let name = if has_name {
            vec![HumanName {
                use_: Some("official".to_string()),
                family: person.family_name.clone(),
                given: person.given_names.clone(),
                ..HumanName::default()
            }]
        } else {
            Vec::new()
        };
        let link = match &person.replaced_by {
            Some(survivor) => vec![PatientLink {
                other: Reference::patient(survivor),
                link_type: "replaced-by".to_string(),
            }],
            None => Vec::new(),
        };
        Patient {
            id: Some(person.cci.clone()),
            meta: Some(Meta::profile(systems::UK_CORE_PATIENT)),
            identifier,
            active: Some(person.replaced_by.is_none()),
            name,
            gender: person.gender,
            birth_date: person.birth_date.clone(),
            address: person.address.iter().cloned().collect(),
            link,
            ..Patient::default()
        }
    }

    /// The values of this Patient's identifiers in `system`, in order.
    pub fn identifiers_in<'a>(&'a self, system: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.identifier
            .iter()
            .filter(move |id| id.system.as_deref() == Some(system))
            .filter_map(|id| id.value.as_deref())
    }

    /// The first NHS number identifier's value, unchecked.
    pub fn nhs_number_value(&self) -> Option<&str> {
        self.identifiers_in(systems::NHS_NUMBER).next()
    }

    /// The verification status carried on the first NHS number identifier, if any.
    pub fn nhs_number_status(&self) -> Option<NhsNumberVerificationStatus> {
        let identifier = self
            .identifier
            .iter()
            .find(|id| id.system.as_deref() == Some(systems::NHS_NUMBER))?;
        identifier
            .extension
            .iter()
            .filter(|ext| ext.url == systems::NHS_NUMBER_VERIFICATION_STATUS_EXTENSION)
            .find_map(|ext| match &ext.value {
                Some(crate::Value::CodeableConcept(CodeableConcept { coding, .. })) => coding
                    .iter()
                    .filter(|c| {
                        c.system.as_deref() == Some(systems::NHS_NUMBER_VERIFICATION_STATUS_SYSTEM)
                    })
                    .find_map(|c| c.code.as_deref())
                    .and_then(NhsNumberVerificationStatus::from_code),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhs(raw: &str) -> NhsNumber {
        raw.parse().unwrap()
    }

    #[test]
    fn from_demographics_puts_cci_then_verified_nhs_number() {
        let patient = Patient::from_demographics(&Demographics {
            cci: "K000000019".into(),
            nhs_number: Some((
                nhs("9434765919"),
                NhsNumberVerificationStatus::PresentAndVerified,
            )),
            given_names: vec!["Amelia".into()],
            family_name: Some("Hughes".into()),
            gender: Some(AdministrativeGender::Female),
            birth_date: Some("2016-04-02".into()),
            ..Demographics::default()
        });
        assert_eq!(patient.id.as_deref(), Some("K000000019"));
        assert_eq!(
            patient
                .identifiers_in(systems::KITH_CCI)
                .collect::<Vec<_>>(),
            ["K000000019"]
        );
        assert_eq!(patient.nhs_number_value(), Some("9434765919"));
        assert_eq!(
            patient.nhs_number_status(),
            Some(NhsNumberVerificationStatus::PresentAndVerified)
        );
        assert_eq!(patient.active, Some(true));
        assert!(patient.link.is_empty());
        let json = serde_json::to_value(&patient).unwrap();
        assert_eq!(json["resourceType"], "Patient");
        assert_eq!(json["birthDate"], "2016-04-02");
        assert_eq!(json["gender"], "female");
        assert_eq!(
            json["identifier"][1]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
            "01"
        );
    }

    #[test]
    fn a_retired_cci_is_inactive_and_points_to_its_survivor() {
        let patient = Patient::from_demographics(&Demographics {
            cci: "K000000027".into(),
            replaced_by: Some("K000000019".into()),
            ..Demographics::default()
        });
        assert_eq!(patient.active, Some(false));
        assert_eq!(patient.link[0].link_type, "replaced-by");
        assert_eq!(
            patient.link[0].other.reference.as_deref(),
            Some("Patient/K000000019")
        );
        assert!(patient.name.is_empty(), "no empty HumanName is emitted");
        assert!(patient.nhs_number_status().is_none());
    }

    #[test]
    fn empty_elements_are_left_out_of_the_json() {
        let json = serde_json::to_string(&Patient::default()).unwrap();
        assert_eq!(json, r#"{"resourceType":"Patient"}"#);
    }

    #[test]
    fn an_unknown_gender_code_is_refused() {
        let error = serde_json::from_str::<Patient>(r#"{"resourceType":"Patient","gender":"f"}"#)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("unknown variant `f`, expected one of"),
            "{error}"
        );
    }
}
