//! The Cedar side, kept thin: load the rules in `policies/sharing.cedar`, validate them
//! against `policies/kith.cedarschema` once at start-up, and evaluate the facts a decision has
//! gathered. Entities and context are built from typed values, never parsed from JSON.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde::{Deserialize, Serialize};

use crate::vocab::Tier;

/// The sharing rules, as an information-governance lead reads them.
pub const POLICIES: &str = include_str!("../policies/sharing.cedar");
/// The facts the rules may use.
pub const SCHEMA: &str = include_str!("../policies/kith.cedarschema");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid cedar schema: {0}")]
    Schema(String),
    #[error("invalid cedar policies: {0}")]
    Parse(String),
    #[error("cedar policies do not match the schema: {0}")]
    Validation(String),
    #[error("cedar policy `{policy}` has no `@{annotation}` annotation")]
    Annotation { policy: String, annotation: String },
    #[error("invalid cedar name `{0}`")]
    Name(String),
}

/// A rule that took part in a decision: its `@id` and `@reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub reason: String,
}

/// The facts a decision gathered, in the shape the schema describes.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub user: &'a str,
    pub org: &'a str,
    pub role: &'a str,
    pub child: &'a str,
    pub opted_out: bool,
    pub sensitive: bool,
    pub purpose: &'static str,
    pub tier: Tier,
    pub category: &'static str,
    pub agreement: AgreementFacts,
    pub relationship_current: bool,
    pub break_glass_active: bool,
    pub break_glass_max_tier: Tier,
    pub consent: &'static str,
    pub safeguarding_override: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AgreementFacts {
    pub matched: bool,
    pub role_permitted: bool,
    pub max_tier: Option<Tier>,
    pub consent_is_basis: bool,
    pub safeguarding_basis: bool,
    pub opt_out_exemption: bool,
}

/// What Cedar said.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub allowed: bool,
    /// The rules that decided: the permits behind an allow, the forbids behind a deny (empty
    /// when nothing permitted, i.e. default deny).
    pub rules: Vec<Rule>,
    /// Evaluation errors; any error makes the decision a deny.
    pub errors: Vec<String>,
}

/// The validated rules and everything needed to ask them a question quickly.
#[derive(Debug)]
pub struct PolicyEngine {
    policies: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    rules: HashMap<PolicyId, Rule>,
    user_type: EntityTypeName,
    child_type: EntityTypeName,
    tier_actions: [EntityUid; 4],
    location_action: EntityUid,
    /// The action hierarchy from the schema (`view_summary in view`), added to every request.
    action_entities: Vec<Entity>,
}

fn name(s: &str) -> Result<EntityTypeName, PolicyError> {
    EntityTypeName::from_str(s).map_err(|_| PolicyError::Name(s.to_string()))
}

fn action(id: &str) -> Result<EntityUid, PolicyError> {
    Ok(EntityUid::from_type_name_and_id(
        name("Kith::Action")?,
        EntityId::new(id),
    ))
}

impl PolicyEngine {
    /// Load the built-in rules.
    pub fn new() -> Result<Self, PolicyError> {
        Self::from_sources(POLICIES, SCHEMA)
    }

    /// Load rules from text, refusing any that do not validate against the schema or lack an
    /// `@id` and a `@reason`.
    pub fn from_sources(policies: &str, schema: &str) -> Result<Self, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(schema).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let policies =
            PolicySet::from_str(policies).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let errors: Vec<String> = validation
                .validation_errors()
                .map(|e| e.to_string())
                .collect();
            return Err(PolicyError::Validation(errors.join("; ")));
        }
        let action_entities = schema
            .action_entities()
            .map_err(|e| PolicyError::Schema(e.to_string()))?
            .iter()
            .cloned()
            .collect();
        let mut rules = HashMap::new();
        for policy in policies.policies() {
            let annotation = |key: &str| {
                policy
                    .annotation(key)
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError::Annotation {
                        policy: policy.id().to_string(),
                        annotation: key.to_string(),
                    })
            };
            rules.insert(
                policy.id().clone(),
                Rule {
                    id: annotation("id")?,
                    reason: annotation("reason")?,
                },
            );
        }
        Ok(Self {
            policies,
            schema,
            authorizer: Authorizer::new(),
            rules,
            user_type: name("Kith::User")?,
            child_type: name("Kith::Child")?,
            tier_actions: [
                action("view_existence")?,
                action("view_involvement")?,
                action("view_summary")?,
                action("view_full")?,
            ],
            location_action: action("disclose_location")?,
            action_entities,
        })
    }

    /// The rules, for listing (`@id` and `@reason` of each).
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    fn entities(&self, facts: &Facts<'_>) -> Result<(EntityUid, EntityUid, Entities), String> {
        let user =
            EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(facts.user));
        let child =
            EntityUid::from_type_name_and_id(self.child_type.clone(), EntityId::new(facts.child));
        let user_entity = Entity::new(
            user.clone(),
            HashMap::from([
                (
                    "org".to_string(),
                    RestrictedExpression::new_string(facts.org.to_string()),
                ),
                (
                    "role".to_string(),
                    RestrictedExpression::new_string(facts.role.to_string()),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let child_entity = Entity::new(
            child.clone(),
            HashMap::from([
                (
                    "national_data_opt_out".to_string(),
                    RestrictedExpression::new_bool(facts.opted_out),
                ),
                (
                    "sensitive".to_string(),
                    RestrictedExpression::new_bool(facts.sensitive),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let entities = Entities::from_entities(
            self.action_entities
                .iter()
                .cloned()
                .chain([user_entity, child_entity]),
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok((user, child, entities))
    }

    /// Ask whether the tier in `facts` may be shared.
    pub(crate) fn view(&self, facts: &Facts<'_>) -> Verdict {
        let a = &facts.agreement;
        let bool_ = RestrictedExpression::new_bool;
        let long = RestrictedExpression::new_long;
        let agreement = RestrictedExpression::new_record([
            ("matched".to_string(), bool_(a.matched)),
            ("role_permitted".to_string(), bool_(a.role_permitted)),
            (
                "max_tier".to_string(),
                long(a.max_tier.map_or(-1, Tier::rank)),
            ),
            ("consent_is_basis".to_string(), bool_(a.consent_is_basis)),
            (
                "safeguarding_basis".to_string(),
                bool_(a.safeguarding_basis),
            ),
            ("opt_out_exemption".to_string(), bool_(a.opt_out_exemption)),
        ]);
        let break_glass = RestrictedExpression::new_record([
            ("active".to_string(), bool_(facts.break_glass_active)),
            (
                "max_tier".to_string(),
                long(facts.break_glass_max_tier.rank()),
            ),
        ]);
        let context = match (agreement, break_glass) {
            (Ok(agreement), Ok(break_glass)) => Context::from_pairs([
                (
                    "purpose".to_string(),
                    RestrictedExpression::new_string(facts.purpose.to_string()),
                ),
                ("tier".to_string(), long(facts.tier.rank())),
                (
                    "record_category".to_string(),
                    RestrictedExpression::new_string(facts.category.to_string()),
                ),
                ("agreement".to_string(), agreement),
                (
                    "relationship_current".to_string(),
                    bool_(facts.relationship_current),
                ),
                ("break_glass".to_string(), break_glass),
                (
                    "consent".to_string(),
                    RestrictedExpression::new_string(facts.consent.to_string()),
                ),
                (
                    "safeguarding_override".to_string(),
                    bool_(facts.safeguarding_override),
                ),
            ])
            .map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        let action = self.tier_actions[tier_index(facts.tier)].clone();
        self.ask(facts, action, context)
    }

    /// Ask whether location fields may go with the record.
    pub(crate) fn location(&self, facts: &Facts<'_>, sensitive_override: bool) -> Verdict {
        let context = Context::from_pairs([(
            "sensitive_override".to_string(),
            RestrictedExpression::new_bool(sensitive_override),
        )])
        .map_err(|e| e.to_string());
        self.ask(facts, self.location_action.clone(), context)
    }

    fn ask(
        &self,
        facts: &Facts<'_>,
        action: EntityUid,
        context: Result<Context, String>,
    ) -> Verdict {
        let denied = |error: String| Verdict {
            allowed: false,
            rules: Vec::new(),
            errors: vec![error],
        };
        let (user, child, entities) = match self.entities(facts) {
            Ok(parts) => parts,
            Err(e) => return denied(e),
        };
        let context = match context {
            Ok(c) => c,
            Err(e) => return denied(e),
        };
        // The request is checked against the schema: a fact Kith forgot or misnamed is an
        // error (and so a deny), never a silently false condition. (Measured: skipping the
        // check saves under 10% of a decision, not worth a silently false condition.)
        let request = match Request::new(user, action, child, context, Some(&self.schema)) {
            Ok(r) => r,
            Err(e) => return denied(e.to_string()),
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let diagnostics = response.diagnostics();
        let mut rules: Vec<Rule> = diagnostics
            .reason()
            .filter_map(|id| self.rules.get(id).cloned())
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let errors: Vec<String> = diagnostics.errors().map(|e| e.to_string()).collect();
        Verdict {
            allowed: response.decision() == CedarDecision::Allow && errors.is_empty(),
            rules,
            errors,
        }
    }
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Existence => 0,
        Tier::Involvement => 1,
        Tier::Summary => 2,
        Tier::Full => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_validate_and_are_annotated() -> Result<(), PolicyError> {
        let engine = PolicyEngine::new()?;
        assert!(engine.rules().count() >= 8);
        Ok(())
    }

    #[test]
    fn a_rule_naming_an_unknown_fact_is_refused_at_start_up() {
        let bad = r#"@id("x") @reason("y")
            permit (principal, action in Kith::Action::"view", resource)
            when { context.no_such_fact };"#;
        assert!(matches!(
            PolicyEngine::from_sources(bad, SCHEMA),
            Err(PolicyError::Validation(_))
        ));
    }

    #[test]
    fn a_rule_without_a_reason_is_refused() {
        let bad = r#"@id("x")
            permit (principal, action in Kith::Action::"view", resource);"#;
        assert!(matches!(
            PolicyEngine::from_sources(bad, SCHEMA),
            Err(PolicyError::Annotation { .. })
        ));
    }
}
