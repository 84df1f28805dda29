//! Token search parameters (`system|value`), as in `Patient?identifier=` and `$ihe-pix`.

use crate::datatypes::Identifier;

/// Which system a token search asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSystem {
    /// `value`: any system.
    Any,
    /// `|value`: only identifiers with no system.
    NoSystem,
    /// `system|value` or `system|`.
    Is(String),
}

/// One parsed token: a system constraint and, unless `system|` was given, a code or value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenParam {
    pub system: TokenSystem,
    pub code: Option<String>,
}

/// Why a token search parameter could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is empty")]
    Empty,
    #[error("token `{0}` has neither a system nor a value")]
    Bare(String),
    #[error("token `{0}` has more than one unescaped `|`; write `\\|` for a literal bar")]
    TooManyBars(String),
    #[error("token `{0}` ends with a lone `\\`")]
    TrailingEscape(String),
    #[error(
        "token `{0}` holds an unescaped `,`; use `TokenParam::parse_list` for a list of alternatives"
    )]
    Comma(String),
}

impl TokenError {
    /// The OperationOutcome to send back, naming the search parameter that held the token.
    pub fn outcome(&self, parameter: &str) -> crate::OperationOutcome {
        crate::OperationOutcome::invalid(&format!("search parameter `{parameter}`: {self}"))
    }
}

impl TokenParam {
    /// Reads one token: `value`, `|value`, `system|` or `system|value`. `\|`, `\,`, `\$` and
    /// `\\` stand for the characters themselves.
    pub fn parse(raw: &str) -> Result<TokenParam, TokenError> {
        if raw.is_empty() {
            return Err(TokenError::Empty);
        }
        let pieces = split_unescaped(raw, '|')?;
        if pieces.iter().any(|piece| has_unescaped(piece, ',')) {
            return Err(TokenError::Comma(raw.to_string()));
        }
        match pieces.as_slice() {
            [value] => Ok(TokenParam {
                system: TokenSystem::Any,
                code: Some(unescape(value)),
            }),
            [system, value] => {
                let system = match system.as_str() {
                    "" => TokenSystem::NoSystem,
                    other => TokenSystem::Is(unescape(other)),
                };
                let code = (!value.is_empty()).then(|| unescape(value));
                if system == TokenSystem::NoSystem && code.is_none() {
                    return Err(TokenError::Bare(raw.to_string()));
                }
                Ok(TokenParam { system, code })
            }
            _ => Err(TokenError::TooManyBars(raw.to_string())),
        }
    }

    /// Reads a comma-separated list of alternative tokens (`a|1,b|2`).
    pub fn parse_list(raw: &str) -> Result<Vec<TokenParam>, TokenError> {
        if raw.is_empty() {
            return Err(TokenError::Empty);
        }
        split_unescaped(raw, ',')?
            .iter()
            .map(|piece| TokenParam::parse(piece))
            .collect()
    }

    /// Whether an identifier satisfies this token.
    pub fn matches(&self, identifier: &Identifier) -> bool {
        let system_ok = match &self.system {
            TokenSystem::Any => true,
            TokenSystem::NoSystem => identifier.system.is_none(),
            TokenSystem::Is(system) => identifier.system.as_deref() == Some(system.as_str()),
        };
        let value_ok = match &self.code {
            None => true,
            Some(code) => identifier.value.as_deref() == Some(code.as_str()),
        };
        system_ok && value_ok
    }
}

/// Writes the token back in query form, escaping `\`, `|`, `,` and `$`.
impl std::fmt::Display for TokenParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.as_deref().map(escape).unwrap_or_default();
        match &self.system {
            TokenSystem::Any => write!(f, "{code}"),
            TokenSystem::NoSystem => write!(f, "|{code}"),
            TokenSystem::Is(system) => write!(f, "{}|{code}", escape(system)),
        }
    }
}

fn escape(piece: &str) -> String {
    let mut out = String::with_capacity(piece.len());
    for c in piece.chars() {
        if matches!(c, '\\' | '|' | ',' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits on unescaped `separator`, keeping escapes in the pieces.
fn split_unescaped(raw: &str, separator: char) -> Result<Vec<String>, TokenError> {
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let current = pieces.last_mut();
        match (c, current) {
            ('\\', Some(piece)) => match chars.next() {
                Some(escaped) => {
                    piece.push('\\');
                    piece.push(escaped);
                }
                None => return Err(TokenError::TrailingEscape(raw.to_string())),
            },
            (c, Some(_)) if c == separator => pieces.push(String::new()),
            (c, Some(piece)) => piece.push(c),
            (_, None) => {}
        }
    }
    Ok(pieces)
}

fn has_unescaped(piece: &str, wanted: char) -> bool {
    let mut escaped = false;
    for c in piece.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == wanted {
            return true;
        }
    }
    false
}

fn unescape(piece: &str) -> String {
    let mut out = String::with_capacity(piece.len());
    let mut escaped = false;
    for c in piece.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(raw: &str, system: TokenSystem, code: Option<&str>) {
        assert_eq!(
            TokenParam::parse(raw),
            Ok(TokenParam {
                system,
                code: code.map(str::to_string)
            }),
            "{raw}"
        );
    }

    fn err(raw: &str, message: &str) {
        assert_eq!(
            TokenParam::parse(raw).unwrap_err().to_string(),
            message,
            "{raw}"
        );
    }

    #[test]
    fn the_four_token_forms() {
        let nhs = || TokenSystem::Is("https://fhir.nhs.uk/Id/nhs-number".into());
        ok("9434765919", TokenSystem::Any, Some("9434765919"));
        ok("|9434765919", TokenSystem::NoSystem, Some("9434765919"));
        ok("https://fhir.nhs.uk/Id/nhs-number|", nhs(), None);
        ok(
            "https://fhir.nhs.uk/Id/nhs-number|9434765919",
            nhs(),
            Some("9434765919"),
        );
    }

    #[test]
    fn escapes_stand_for_themselves() {
        ok(
            r"urn:x\|y|a\,b\\c",
            TokenSystem::Is("urn:x|y".into()),
            Some(r"a,b\c"),
        );
        ok(r"\$1", TokenSystem::Any, Some("$1"));
    }

    #[test]
    fn malformed_tokens_say_why() {
        err("", "token is empty");
        err("|", "token `|` has neither a system nor a value");
        err(
            "a|b|c",
            "token `a|b|c` has more than one unescaped `|`; write `\\|` for a literal bar",
        );
        err(r"a|b\", r"token `a|b\` ends with a lone `\`");
        err(
            "a|1,a|2",
            "token `a|1,a|2` holds an unescaped `,`; use `TokenParam::parse_list` for a list of alternatives",
        );
    }

    #[test]
    fn token_errors_become_outcomes_naming_the_parameter() {
        let outcome = TokenParam::parse("|").unwrap_err().outcome("identifier");
        assert_eq!(
            outcome.issue[0].diagnostics.as_deref(),
            Some("search parameter `identifier`: token `|` has neither a system nor a value")
        );
    }

    #[test]
    fn lists_split_on_unescaped_commas() {
        let list = TokenParam::parse_list(r"a|1,b|2\,3").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].code.as_deref(), Some("2,3"));
        assert_eq!(
            TokenParam::parse_list("a|1,").unwrap_err(),
            TokenError::Empty
        );
    }

    fn token_strategy() -> impl Strategy<Value = TokenParam> {
        let text = "[a-z0-9|,$:/\\\\ -]{1,12}";
        prop_oneof![
            text.prop_map(|code| TokenParam {
                system: TokenSystem::Any,
                code: Some(code)
            }),
            text.prop_map(|code| TokenParam {
                system: TokenSystem::NoSystem,
                code: Some(code)
            }),
            (text, proptest::option::of(text)).prop_map(|(system, code)| TokenParam {
                system: TokenSystem::Is(system),
                code
            }),
        ]
    }

    proptest! {
        #[test]
        fn written_tokens_read_back_the_same(token in token_strategy()) {
            prop_assert_eq!(TokenParam::parse(&token.to_string()), Ok(token));
        }

        #[test]
        fn any_text_parses_or_fails_without_panicking(raw in "\\PC{0,20}") {
            let _ = TokenParam::parse(&raw);
            let _ = TokenParam::parse_list(&raw);
        }
    }

    #[test]
    fn display_escapes_what_parse_unescapes() {
        let token = TokenParam {
            system: TokenSystem::Is("urn:a|b".into()),
            code: Some(r"1,2\$".into()),
        };
        assert_eq!(token.to_string(), r"urn:a\|b|1\,2\\\$");
    }

    #[test]
    fn matches_identifiers_by_system_and_value() {
        let cci = Identifier::new("https://kith.example/Id/cci", "K000000019");
        let token = |raw: &str| TokenParam::parse(raw).unwrap();
        assert!(token("K000000019").matches(&cci));
        assert!(token("https://kith.example/Id/cci|").matches(&cci));
        assert!(token("https://kith.example/Id/cci|K000000019").matches(&cci));
        assert!(!token("|K000000019").matches(&cci));
        assert!(!token("https://fhir.nhs.uk/Id/nhs-number|K000000019").matches(&cci));
        assert!(!token("https://kith.example/Id/cci|K000000027").matches(&cci));
    }
}
