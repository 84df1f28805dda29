//! Identifier systems, code systems, extension and profile URLs that Kith's FHIR interface uses.

use serde::{Deserialize, Serialize};

/// The NHS number identifier system (England and Wales).
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Kith's consistent child identifier (CCI) system.
pub const KITH_CCI: &str = "https://kith.example/Id/cci";
/// Organisation Data Service codes, the identifiers of NHS and local-authority organisations.
pub const ODS_ORGANISATION_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// UK Core extension on `Patient.identifier` giving the NHS number's verification status.
pub const NHS_NUMBER_VERIFICATION_STATUS_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// The England code system of NHS number verification status (codes `01`–`08`).
pub const NHS_NUMBER_VERIFICATION_STATUS_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// Core FHIR extension on a search entry giving how sure a `$match` is.
pub const MATCH_GRADE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/match-grade";
/// The code system of [`MATCH_GRADE_EXTENSION`] codes.
pub const MATCH_GRADE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/match-grade";

/// UK Core Patient profile.
pub const UK_CORE_PATIENT: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient";
/// UK Core Flag profile.
pub const UK_CORE_FLAG: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Flag";
/// UK Core Encounter profile.
pub const UK_CORE_ENCOUNTER: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter";

/// Kith's code system of safeguarding flags (child protection plan, looked-after child, …).
pub const KITH_SAFEGUARDING_FLAG: &str = "https://kith.example/CodeSystem/safeguarding-flag";
/// Kith's extension on a safeguarding Flag: one contact of the owning local authority.
pub const KITH_SAFEGUARDING_CONTACT_EXTENSION: &str =
    "https://kith.example/StructureDefinition/safeguarding-contact";
/// Kith's code system of purposes of use (direct care, safeguarding, …).
pub const KITH_PURPOSE_OF_USE: &str = "https://kith.example/CodeSystem/purpose-of-use";
/// Kith's code system of practitioner roles used in audit and consent.
pub const KITH_ROLE: &str = "https://kith.example/CodeSystem/role";

/// FHIR Flag category codes.
pub const FLAG_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/flag-category";
/// FHIR Consent scope codes.
pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
/// FHIR Consent category codes.
pub const CONSENT_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/consentcategorycodes";
/// HL7 v3 ActCode (encounter classes, consent policy codes).
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// HL7 v3 ActReason, whose purpose-of-use codes include `TREAT` and `ETREAT`.
pub const V3_ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// FHIR audit event types.
pub const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
/// FHIR RESTful interactions, the subtypes of a `rest` audit event.
pub const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
/// FHIR audit entity types (`1` person, `2` system object, …).
pub const AUDIT_ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
/// HL7 v3 ParticipationType, for the audit agent type.
pub const V3_PARTICIPATION_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// FHIR security source types (`4` application server).
pub const SECURITY_SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
/// HL7 v3 RoleClass, used for consent actors.
pub const V3_ROLE_CLASS: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";

/// Definition of the standard `Patient/$match` operation.
pub const PATIENT_MATCH_OPERATION: &str = "http://hl7.org/fhir/OperationDefinition/Patient-match";
/// Definition of the IHE PIXm cross-reference query, served as `Patient/$ihe-pix`.
pub const PIXM_OPERATION: &str =
    "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix";

/// The verification status of an NHS number, as the NHS Data Dictionary's NHS Number Status
/// Indicator Code (`01`–`08`). Only `01` is a number confirmed by the national demographic service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NhsNumberVerificationStatus {
    /// `01`: number present and verified.
    PresentAndVerified,
    /// `02`: number present but not traced.
    PresentNotTraced,
    /// `03`: trace required.
    TraceRequired,
    /// `04`: trace attempted, no match or multiple match found.
    TraceAttemptedNoMatch,
    /// `05`: trace needs to be resolved (NHS number or patient detail conflict).
    TraceNeedsResolving,
    /// `06`: trace in progress.
    TraceInProgress,
    /// `07`: number not present and trace not required.
    NotPresentTraceNotRequired,
    /// `08`: trace postponed (baby under six weeks old).
    TracePostponed,
}

impl NhsNumberVerificationStatus {
    /// Every status, in code order.
    pub const ALL: [NhsNumberVerificationStatus; 8] = [
        NhsNumberVerificationStatus::PresentAndVerified,
        NhsNumberVerificationStatus::PresentNotTraced,
        NhsNumberVerificationStatus::TraceRequired,
        NhsNumberVerificationStatus::TraceAttemptedNoMatch,
        NhsNumberVerificationStatus::TraceNeedsResolving,
        NhsNumberVerificationStatus::TraceInProgress,
        NhsNumberVerificationStatus::NotPresentTraceNotRequired,
        NhsNumberVerificationStatus::TracePostponed,
    ];

    /// The two-digit code, such as `01`.
    pub fn code(self) -> &'static str {
        match self {
            NhsNumberVerificationStatus::PresentAndVerified => "01",
            NhsNumberVerificationStatus::PresentNotTraced => "02",
            NhsNumberVerificationStatus::TraceRequired => "03",
            NhsNumberVerificationStatus::TraceAttemptedNoMatch => "04",
            NhsNumberVerificationStatus::TraceNeedsResolving => "05",
            NhsNumberVerificationStatus::TraceInProgress => "06",
            NhsNumberVerificationStatus::NotPresentTraceNotRequired => "07",
            NhsNumberVerificationStatus::TracePostponed => "08",
        }
    }

    /// The display text of the code.
    pub fn display(self) -> &'static str {
        match self {
            NhsNumberVerificationStatus::PresentAndVerified => "Number present and verified",
            NhsNumberVerificationStatus::PresentNotTraced => "Number present but not traced",
            NhsNumberVerificationStatus::TraceRequired => "Trace required",
            NhsNumberVerificationStatus::TraceAttemptedNoMatch => {
                "Trace attempted - No match or multiple match found"
            }
            NhsNumberVerificationStatus::TraceNeedsResolving => {
                "Trace needs to be resolved - (NHS number or patient detail conflict)"
            }
            NhsNumberVerificationStatus::TraceInProgress => "Trace in progress",
            NhsNumberVerificationStatus::NotPresentTraceNotRequired => {
                "Number not present and trace not required"
            }
            NhsNumberVerificationStatus::TracePostponed => {
                "Trace postponed (baby under six weeks old)"
            }
        }
    }

    /// The status with this two-digit code.
    pub fn from_code(code: &str) -> Option<NhsNumberVerificationStatus> {
        NhsNumberVerificationStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
    }

    /// Whether the number was confirmed against the national demographic service (`01`).
    pub fn is_verified(self) -> bool {
        self == NhsNumberVerificationStatus::PresentAndVerified
    }
}

/// How sure a `$match` candidate is, as the FHIR `match-grade` extension codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchGrade {
    /// The same person: Kith linked the record.
    Certain,
    /// Probably the same person: waiting for a data steward.
    Probable,
    /// Possibly the same person: waiting for a data steward.
    Possible,
    /// Known not to be the same person.
    CertainlyNot,
}

impl MatchGrade {
    /// The code: `certain`, `probable`, `possible` or `certainly-not`.
    pub fn code(self) -> &'static str {
        match self {
            MatchGrade::Certain => "certain",
            MatchGrade::Probable => "probable",
            MatchGrade::Possible => "possible",
            MatchGrade::CertainlyNot => "certainly-not",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_status_codes_round_trip_and_only_01_is_verified() {
        for status in NhsNumberVerificationStatus::ALL {
            assert_eq!(
                NhsNumberVerificationStatus::from_code(status.code()),
                Some(status)
            );
            assert_eq!(status.is_verified(), status.code() == "01");
        }
        assert_eq!(NhsNumberVerificationStatus::from_code("09"), None);
        assert_eq!(
            NhsNumberVerificationStatus::PresentAndVerified.display(),
            "Number present and verified"
        );
    }

    #[test]
    fn match_grade_codes_are_the_fhir_ones() {
        let codes: Vec<_> = [
            MatchGrade::Certain,
            MatchGrade::Probable,
            MatchGrade::Possible,
            MatchGrade::CertainlyNot,
        ]
        .into_iter()
        .map(MatchGrade::code)
        .collect();
        assert_eq!(codes, ["certain", "probable", "possible", "certainly-not"]);
    }
}
