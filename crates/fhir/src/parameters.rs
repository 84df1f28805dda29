//! Parameters: the input and output of FHIR operations (`$match`, `$ihe-pix`).

use serde::{Deserialize, Serialize};

use crate::datatypes::{Meta, Value};
use crate::resource::Resource;

/// A FHIR R4 `Parameters` resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Parameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameter: Vec<Parameter>,
}

/// One named parameter: a value, a resource, or parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Box<Resource>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part: Vec<Parameter>,
}

impl Parameter {
    /// A parameter carrying a value.
    pub fn value(name: &str, value: Value) -> Parameter {
        Parameter {
            name: name.to_string(),
            value: Some(value),
            resource: None,
            part: Vec::new(),
        }
    }

    /// A parameter carrying a resource.
    pub fn resource(name: &str, resource: Resource) -> Parameter {
        Parameter {
            name: name.to_string(),
            value: None,
            resource: Some(Box::new(resource)),
            part: Vec::new(),
        }
    }
}

impl Parameters {
    /// Parameters made of these parameters, in order.
    pub fn new(parameter: Vec<Parameter>) -> Parameters {
        Parameters {
            id: None,
            meta: None,
            parameter,
        }
    }

    /// The parameters called `name`, in order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Parameter> + 'a {
        self.parameter.iter().filter(move |p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identifier;
    use serde_json::json;

    #[test]
    fn values_flatten_into_the_parameter() {
        let parameters = Parameters::new(vec![
            Parameter::value("onlyCertainMatches", Value::Boolean(true)),
            Parameter::value(
                "targetIdentifier",
                Value::Identifier(Identifier::new("https://kith.example/Id/cci", "K000000019")),
            ),
        ]);
        let json = serde_json::to_value(&parameters).unwrap();
        assert_eq!(
            json,
            json!({"resourceType": "Parameters", "parameter": [
                {"name": "onlyCertainMatches", "valueBoolean": true},
                {"name": "targetIdentifier", "valueIdentifier":
                    {"system": "https://kith.example/Id/cci", "value": "K000000019"}}
            ]})
        );
        let back: Parameters = serde_json::from_value(json).unwrap();
        assert_eq!(back, parameters);
        assert_eq!(back.named("onlyCertainMatches").count(), 1);
    }

    #[test]
    fn a_parameter_without_value_reads_as_none() {
        let back: Parameters = serde_json::from_value(
            json!({"resourceType": "Parameters", "parameter": [{"name": "resource"}]}),
        )
        .unwrap();
        assert_eq!(back.parameter[0].value, None);
        assert_eq!(back.parameter[0].resource, None);
    }
}
