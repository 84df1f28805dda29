//! OperationOutcome: how every FHIR error Kith returns explains itself to the caller.

use serde::{Deserialize, Serialize};

use crate::datatypes::{CodeableConcept, Meta};

/// A FHIR R4 `OperationOutcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct OperationOutcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    pub issue: Vec<Issue>,
}

/// One issue of an [`OperationOutcome`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub severity: IssueSeverity,
    pub code: IssueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// FHIRPath expressions of the elements at fault, such as `Parameters.parameter[1]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueSeverity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// The kind of issue (FHIR R4 `issue-type` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    Security,
    Login,
    Unknown,
    Expired,
    Forbidden,
    Suppressed,
    Processing,
    NotSupported,
    Duplicate,
    MultipleMatches,
    NotFound,
    Deleted,
    TooLong,
    CodeInvalid,
    Extension,
    TooCostly,
    BusinessRule,
    Conflict,
    Transient,
    LockError,
    NoStore,
    Exception,
    Timeout,
    Incomplete,
    Throttled,
    Informational,
}

impl OperationOutcome {
    /// An outcome with one error-severity issue.
    pub fn error(code: IssueType, diagnostics: &str) -> OperationOutcome {
        OperationOutcome::single(IssueSeverity::Error, code, diagnostics)
    }

    /// An outcome with one issue of any severity.
    pub fn single(severity: IssueSeverity, code: IssueType, diagnostics: &str) -> OperationOutcome {
        OperationOutcome {
            id: None,
            meta: None,
            issue: vec![Issue {
                severity,
                code,
                details: None,
                diagnostics: Some(diagnostics.to_string()),
                expression: Vec::new(),
            }],
        }
    }

    /// The resource or operation asked for does not exist, or the caller may not know it does.
    pub fn not_found(diagnostics: &str) -> OperationOutcome {
        OperationOutcome::error(IssueType::NotFound, diagnostics)
    }

    /// The request was malformed: say what, and where when known (see [`Self::at`]).
    pub fn invalid(diagnostics: &str) -> OperationOutcome {
        OperationOutcome::error(IssueType::Invalid, diagnostics)
    }

    /// The caller may not do this. Say no more than the caller may know.
    pub fn forbidden(diagnostics: &str) -> OperationOutcome {
        OperationOutcome::error(IssueType::Forbidden, diagnostics)
    }

    /// Something failed inside Kith; the diagnostics must not carry internal detail.
    pub fn exception(diagnostics: &str) -> OperationOutcome {
        OperationOutcome::error(IssueType::Exception, diagnostics)
    }

    /// Records the element at fault on the last issue.
    pub fn at(mut self, expression: &str) -> OperationOutcome {
        if let Some(issue) = self.issue.last_mut() {
            issue.expression.push(expression.to_string());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_severity_code_and_diagnostics() {
        let outcome = OperationOutcome::not_found("no Patient `K000000019`");
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-found",
                           "diagnostics": "no Patient `K000000019`"}]
            })
        );
        let invalid = OperationOutcome::invalid("bad").at("Parameters.parameter[0]");
        assert_eq!(invalid.issue[0].code, IssueType::Invalid);
        assert_eq!(invalid.issue[0].expression, ["Parameters.parameter[0]"]);
        assert_eq!(
            serde_json::to_value(IssueType::MultipleMatches).unwrap(),
            "multiple-matches"
        );
        assert_eq!(
            OperationOutcome::forbidden("x").issue[0].code,
            IssueType::Forbidden
        );
        assert_eq!(
            OperationOutcome::exception("x").issue[0].code,
            IssueType::Exception
        );
    }
}
