//! A checker for CloudWatch embedded metric format (EMF) documents, by the rules of AWS's
//! EMF specification: what CloudWatch Logs would extract from a line, or why it would
//! refuse it. The Lambda functions' metrics are checked with it in their tests, and the
//! emulation checks every EMF line its functions write.

use serde_json::Value;
use std::collections::BTreeSet;

/// The units CloudWatch accepts (MetricDatum's `Unit`).
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric a document declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmfMetric {
    pub namespace: String,
    pub name: String,
    /// `None` when the document declares no unit (CloudWatch stores `None`).
    pub unit: Option<String>,
    /// The dimension keys of each dimension set the metric is published under.
    pub dimension_sets: Vec<BTreeSet<String>>,
    /// How many values the line holds for it (1, or the length of its array).
    pub values: usize,
}

/// The metrics `line` declares, or the rule it breaks.
pub fn check(line: &str) -> Result<Vec<EmfMetric>, String> {
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not one JSON object: {e}"))?;
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    aws.get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a number of milliseconds")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    let mut declared = Vec::new();
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 255)
            .ok_or("a directive's Namespace is missing or not 1-255 characters")?;
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive's Dimensions is not an array")?;
        let mut dimension_sets = Vec::new();
        for set in sets {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > 30 {
                return Err(format!("a dimension set has {} keys, over 30", keys.len()));
            }
            let mut names = BTreeSet::new();
            for key in keys {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                let value = root
                    .get(key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension {key} has no string member"))?;
                if value.is_empty() || value.len() > 1024 || !value.is_ascii() {
                    return Err(format!(
                        "dimension {key}'s value is not 1-1024 ASCII characters"
                    ));
                }
                names.insert(key.to_string());
            }
            dimension_sets.push(names);
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive's Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err(format!(
                "{} metrics in one directive, over 100",
                metrics.len()
            ));
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.len() <= 1024)
                .ok_or("a metric's Name is missing or not 1-1024 characters")?;
            let unit = match metric.get("Unit") {
                None => None,
                Some(u) => {
                    let u = u.as_str().ok_or("a Unit is not a string")?;
                    if !UNITS.contains(&u) {
                        return Err(format!("{name}: {u} is not a CloudWatch unit"));
                    }
                    Some(u.to_string())
                }
            };
            let values = match root.get(name) {
                Some(Value::Number(_)) => 1,
                Some(Value::Array(values))
                    if !values.is_empty()
                        && values.len() <= 100
                        && values.iter().all(Value::is_number) =>
                {
                    values.len()
                }
                _ => return Err(format!("{name} needs a number or 1-100 numbers")),
            };
            declared.push(EmfMetric {
                namespace: namespace.to_string(),
                name: name.to_string(),
                unit,
                dimension_sets: dimension_sets.clone(),
                values,
            });
        }
    }
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_passes() {
        let line = r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;
        let metrics = check(line).unwrap();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].name, "time");
        assert_eq!(metrics[0].unit.as_deref(), Some("Milliseconds"));
        assert_eq!(
            metrics[0].dimension_sets,
            vec![BTreeSet::from(["functionVersion".to_string()])]
        );
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases = [
            ("{}", "no _aws"),
            (r#"{"_aws":{"CloudWatchMetrics":[]}}"#, "Timestamp"),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1}"#,
                "dimension d",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m","Unit":"Furlongs"}]}]},"m":1}"#,
                "not a CloudWatch unit",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":"7"}"#,
                "needs a number",
            ),
        ];
        for (line, why) in cases {
            let error = check(line).unwrap_err();
            assert!(error.contains(why), "{line}: {error}");
        }
    }
}
