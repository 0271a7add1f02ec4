//! Printing results: pretty JSON with `--json`, otherwise `key: value` lines.

use serde_json::Value;

/// Prints `value` as JSON (`json`) or as one `path: value` line per leaf.
pub(crate) fn print(value: &Value, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        let mut lines = Vec::new();
        flatten("", value, &mut lines);
        for line in lines {
            println!("{line}");
        }
    }
}

/// `a.b[0].c: value` lines for every leaf; null leaves are left out.
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(_) => out.push(format!("{prefix}: (none)")),
        Value::Null => {}
        Value::String(s) => out.push(format!("{prefix}: {s}")),
        other => out.push(format!("{prefix}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_values() {
        let v = serde_json::json!({"a": {"b": "x", "n": null}, "l": [1, {"c": true}], "e": []});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        out.sort();
        assert_eq!(out, ["a.b: x", "e: (none)", "l[0]: 1", "l[1].c: true"]);
    }
}
