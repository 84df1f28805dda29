//! One example of each resource kind Kith serves, shared by the snapshot and validation tests.

use fhir::{
    Access, Address, AdministrativeGender, Attendance, AuditEvent, AuditOutcome, Bundle,
    CapabilityStatement, CodeableConcept, Coding, Consent, ConsentDecision, ConsentRecord,
    ContactHours, ContactPoint, Demographics, Encounter, EncounterClass, EntryResponse, Flag,
    FlagStatus, Identifier, Interaction, MatchCandidate, MatchGrade, NhsNumberVerificationStatus,
    OperationOutcome, Parameter, Parameters, Patient, PixResponse, ProvisionActor, Reference,
    Resource, SafeguardingContact, SafeguardingFlag, SafeguardingKind, match_bundle, systems,
};

pub const BASE_URL: &str = "https://kith.example/fhir";

pub fn patient() -> Patient {
    Patient::from_demographics(&Demographics {
        cci: "K000000019".into(),
        nhs_number: Some((
            "9434765919".parse().unwrap(),
            NhsNumberVerificationStatus::PresentAndVerified,
        )),
        other_identifiers: vec![Identifier::new(
            "https://kith.example/Id/upn",
            "B801200005001",
        )],
        given_names: vec!["Amelia".into(), "Rose".into()],
        family_name: Some("Hughes".into()),
        gender: Some(AdministrativeGender::Female),
        birth_date: Some("2016-04-02".into()),
        address: Some(Address {
            use_: Some("home".into()),
            line: vec!["12 Orchard Way".into()],
            city: Some("Crawley".into()),
            postal_code: Some("RH10 1AA".into()),
            ..Address::default()
        }),
        replaced_by: None,
    })
}

pub fn retired_patient() -> Patient {
    Patient::from_demographics(&Demographics {
        cci: "K000000027".into(),
        given_names: vec!["Amelia".into()],
        family_name: Some("Hughs".into()),
        birth_date: Some("2016-04".into()),
        replaced_by: Some("K000000019".into()),
        ..Demographics::default()
    })
}

pub fn match_searchset() -> Bundle {
    match_bundle(
        BASE_URL,
        &[
            MatchCandidate {
                patient: retired_patient(),
                grade: MatchGrade::Possible,
                score: 0.41,
            },
            MatchCandidate {
                patient: patient(),
                grade: MatchGrade::Certain,
                score: 0.998,
            },
        ],
    )
}

pub fn pix_parameters() -> Parameters {
    PixResponse {
        target_identifiers: vec![
            Identifier::new(systems::KITH_CCI, "K000000019"),
            Identifier::new("https://kith.example/Id/upn", "B801200005001"),
        ],
        target_ids: vec![Reference::patient("K000000019")],
    }
    .to_parameters()
}

pub fn match_parameters() -> Parameters {
    Parameters::new(vec![
        Parameter::resource("resource", Resource::Patient(patient())),
        Parameter::value("onlyCertainMatches", fhir::Value::Boolean(false)),
        Parameter::value("count", fhir::Value::Integer(5)),
    ])
}

pub fn operation_outcome() -> OperationOutcome {
    OperationOutcome::invalid("parameter `count` must be between 1 and 100, found 0")
        .at("Parameters.parameter[2]")
}

pub fn capability_statement() -> CapabilityStatement {
    CapabilityStatement::kith(BASE_URL, "0.1.0", "2026-11-24")
}

pub fn consent() -> Consent {
    Consent::sharing(&ConsentRecord {
        id: "consent-1".into(),
        patient_cci: "K000000019".into(),
        status: "active".into(),
        decision: ConsentDecision::Permit,
        date_time: "2026-10-01T10:00:00Z".into(),
        given_by: Reference::to("RelatedPerson/rp-1").with_display("Sarah Hughes (mother)"),
        recorded_by: Reference::organisation("E10000032", "West Sussex County Council"),
        purposes: vec![Coding::new(
            systems::KITH_PURPOSE_OF_USE,
            "early-help",
            "Early help",
        )],
        recipients: vec![ProvisionActor::recipient(Reference::organisation(
            "M85001",
            "Crawley Health Centre",
        ))],
        period: Some(fhir::Period::new(Some("2026-10-01"), Some("2027-10-01"))),
    })
}

pub fn flag() -> Flag {
    Flag::safeguarding(&SafeguardingFlag {
        id: "flag-1".into(),
        patient_cci: "K000000019".into(),
        kind: SafeguardingKind::ChildProtectionPlan,
        status: FlagStatus::Active,
        start: "2026-03-01".into(),
        end: None,
        local_authority: Reference::organisation("E10000032", "West Sussex County Council"),
        contacts: vec![
            SafeguardingContact {
                hours: ContactHours::OfficeHours,
                name: "Children's Services Front Door".into(),
                telecom: vec![
                    ContactPoint::work_phone("01403 229900"),
                    ContactPoint::work_email("frontdoor@westsussex.example"),
                ],
            },
            SafeguardingContact {
                hours: ContactHours::OutOfHours,
                name: "Emergency Duty Team".into(),
                telecom: vec![ContactPoint::work_phone("0330 222 6664")],
            },
        ],
    })
}

pub fn audit_event() -> AuditEvent {
    AuditEvent::access(&Access {
        id: "audit-1".into(),
        recorded: "2026-11-20T21:15:03Z".into(),
        interaction: Interaction::Read,
        user: Reference::to("Practitioner/p-17").with_display("Dr A Patel"),
        organisation: Reference::organisation("RXH", "Royal Sussex County Hospital"),
        role: CodeableConcept::coded(systems::KITH_ROLE, "ed-clinician", "ED clinician"),
        purpose: CodeableConcept::coded(systems::V3_ACT_REASON, "ETREAT", "Emergency Treatment"),
        patient_cci: "K000000019".into(),
        outcome: AuditOutcome::Success,
        outcome_description: None,
        observer: Reference::to("Device/kith-server").with_display("Kith"),
    })
}

pub fn encounter() -> Encounter {
    Encounter::attendance(&Attendance {
        id: "enc-1".into(),
        patient_cci: "K000000019".into(),
        class: EncounterClass::Emergency,
        service: "Emergency department attendance".into(),
        start: "2026-11-20T21:14:00Z".into(),
        end: Some("2026-11-21T01:02:00Z".into()),
        provider: Reference::organisation("RXH", "Royal Sussex County Hospital"),
    })
}

pub fn transaction() -> Bundle {
    let patient_url = "urn:uuid:7d1a0c5e-0000-4000-8000-000000000001".to_string();
    let mut new_patient = patient();
    new_patient.id = None;
    let mut attendance = encounter();
    attendance.id = None;
    attendance.subject = Some(Reference::to(&patient_url));
    Bundle::transaction(vec![
        (patient_url, new_patient.into()),
        (
            "urn:uuid:7d1a0c5e-0000-4000-8000-000000000002".to_string(),
            attendance.into(),
        ),
    ])
}

pub fn transaction_response() -> Bundle {
    Bundle::transaction_response(vec![
        EntryResponse::created("Patient/K000000019/_history/1"),
        EntryResponse::created("Encounter/enc-1/_history/1"),
    ])
}

/// Every example, by file stem.
pub fn all() -> Vec<(&'static str, Resource)> {
    vec![
        ("patient", patient().into()),
        ("match-searchset-bundle", match_searchset().into()),
        ("pix-parameters", pix_parameters().into()),
        ("match-parameters", match_parameters().into()),
        ("operation-outcome", operation_outcome().into()),
        ("capability-statement", capability_statement().into()),
        ("consent", consent().into()),
        ("flag", flag().into()),
        ("audit-event", audit_event().into()),
        ("encounter", encounter().into()),
        ("transaction-bundle", transaction().into()),
        ("transaction-response-bundle", transaction_response().into()),
    ]
}
