//! AWS's billing units, by AWS's own rules (README "What a project costs"; each function
//! cites the rule it implements). Pure functions: the emulation counts what happened, these
//! turn it into what AWS bills.

use base64::Engine as _;
use serde_json::{Map, Value};
use std::time::Duration;

const KB: u64 = 1024;

/// The size DynamoDB counts for an item in its JSON wire form (`{"pk": {"S": "…"}}`): the
/// sum of its attribute names and values ("DynamoDB item sizes and formats"): a string
/// its UTF-8 bytes; a number 1 byte per two significant digits plus 1; a binary its raw
/// bytes; a Boolean or null 1 byte; a list or map 3 bytes plus 1 byte per element plus
/// its elements; a set the sum of its members.
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len() as u64,
        ("N", Value::String(n)) => number_size(n),
        ("B", Value::String(b)) => binary_size(b),
        ("BOOL", _) | ("NULL", _) => 1,
        ("SS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.len() as u64)
            .sum(),
        ("NS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(number_size)
            .sum(),
        ("BS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(binary_size)
            .sum(),
        ("L", Value::Array(items)) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// 1 byte per two significant digits (leading and trailing zeroes trimmed), plus 1.
fn number_size(n: &str) -> u64 {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    (significant as u64).div_ceil(2) + 1
}

fn binary_size(b64: &str) -> u64 {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_or(b64.len() as u64, |raw| raw.len() as u64)
}

/// How a read is made, for its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Strong,
    Eventual,
    Transactional,
}

impl Read {
    fn factor(self) -> f64 {
        match self {
            Read::Strong => 1.0,
            Read::Eventual => 0.5,
            Read::Transactional => 2.0,
        }
    }
}

/// Read request units for `bytes` read as one unit of rounding (an item of GetItem or of
/// BatchGetItem, or a Query's or Scan's whole result): rounded up to the next 4 KB, one
/// unit each when strong, half when eventual, two when transactional. A read that finds
/// nothing still costs the minimum.
pub fn read_units(bytes: u64, how: Read) -> f64 {
    bytes.div_ceil(4 * KB).max(1) as f64 * how.factor()
}

/// Write request units for an item of `bytes` (the larger of before and after for a Put
/// over an item or an Update; the deleted item for a Delete): one per 1 KB, rounded up;
/// two per 1 KB in a transaction.
pub fn write_units(bytes: u64, transactional: bool) -> u64 {
    let units = bytes.div_ceil(KB).max(1);
    if transactional { units * 2 } else { units }
}

/// Lambda's billed duration: rounded up to the next millisecond.
pub fn lambda_billed_ms(duration: Duration) -> u64 {
    (duration.as_nanos().div_ceil(1_000_000)) as u64
}

/// GB-seconds of `billed_ms` at `memory_mb`.
pub fn gb_seconds(billed_ms: u64, memory_mb: u32) -> f64 {
    billed_ms as f64 / 1000.0 * memory_mb as f64 / 1024.0
}

/// An Express execution's billed duration (rounded up to the next 100 ms) and memory
/// (rounded up to the next 64 MB; the definition and the execution's data, 64 MB at least).
pub fn express_billed(duration: Duration, memory_mb: u32) -> (u64, u32) {
    let ms = (duration.as_nanos().div_ceil(1_000_000) as u64)
        .div_ceil(100)
        .max(1)
        * 100;
    (ms, memory_mb.div_ceil(64).max(1) * 64)
}

/// API Gateway metering: a WebSocket message in 32 KB units, an HTTP API request in 512 KB
/// units.
pub fn websocket_message_units(bytes: u64) -> u64 {
    bytes.div_ceil(32 * KB).max(1)
}

pub fn http_request_units(bytes: u64) -> u64 {
    bytes.div_ceil(512 * KB).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn size(v: Value) -> u64 {
        item_size(v.as_object().unwrap())
    }

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        // A string: name bytes + UTF-8 bytes ("é" is two).
        assert_eq!(size(json!({"pk": {"S": "abc"}})), 2 + 3);
        assert_eq!(size(json!({"n": {"S": "é"}})), 1 + 2);
        // A number: one byte per two significant digits, plus one; zeroes trimmed.
        assert_eq!(size(json!({"n": {"N": "12345"}})), 1 + 3 + 1);
        assert_eq!(size(json!({"n": {"N": "1000"}})), 1 + 1 + 1);
        assert_eq!(size(json!({"n": {"N": "0.0012"}})), 1 + 1 + 1);
        assert_eq!(size(json!({"n": {"N": "-1.5E+30"}})), 1 + 1 + 1);
        // Binary: raw bytes, not base64 characters.
        assert_eq!(size(json!({"b": {"B": "AAECAw=="}})), 1 + 4);
        // Boolean and null: one byte.
        assert_eq!(
            size(json!({"t": {"BOOL": true}, "z": {"NULL": true}})),
            2 + 2
        );
        // List and map: 3 bytes, plus one per element, plus the elements.
        assert_eq!(size(json!({"l": {"L": []}})), 1 + 3);
        assert_eq!(
            size(json!({"l": {"L": [{"S": "ab"}, {"N": "7"}]}})),
            1 + 3 + (1 + 2) + (1 + 2)
        );
        assert_eq!(
            size(json!({"m": {"M": {"k": {"S": "v"}}}})),
            1 + 3 + (1 + 1 + 1)
        );
        // Sets: the sum of the members.
        assert_eq!(size(json!({"s": {"SS": ["a", "bc"]}})), 1 + 3);
    }

    #[test]
    fn read_units_are_the_developer_guides_examples() {
        // "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item"
        assert_eq!(read_units(3_500, Read::Strong), 1.0);
        assert_eq!(read_units(3_500, Read::Eventual), 0.5);
        // "if your item size is 8 KB, you require 2 read units … 1 … eventually
        // consistent … 4 read units for a transactional read request"
        assert_eq!(read_units(8 * KB, Read::Strong), 2.0);
        assert_eq!(read_units(8 * KB, Read::Eventual), 1.0);
        assert_eq!(read_units(8 * KB, Read::Transactional), 4.0);
        // "If you read a 10 KB item, DynamoDB rounds the item size to 12 KB"
        assert_eq!(read_units(10 * KB, Read::Strong), 3.0);
        // BatchGetItem: "two items of 1.5 KB and 6.5 KB … 12 KB (4 KB + 8 KB)"
        let batch = read_units(1_536, Read::Strong) + read_units(6_656, Read::Strong);
        assert_eq!(batch, 3.0);
        // A read that finds nothing still costs the minimum.
        assert_eq!(read_units(0, Read::Eventual), 0.5);
    }

    #[test]
    fn write_units_are_the_pricing_pages_examples() {
        // "a standard write request of a 1 KB item would require one WCU, … a 3 KB item …
        // three WCUs, and a transactional write request of a 3 KB item … six WCUs"
        assert_eq!(write_units(KB, false), 1);
        assert_eq!(write_units(3 * KB, false), 3);
        assert_eq!(write_units(3 * KB, true), 6);
        assert_eq!(write_units(1_025, false), 2);
        assert_eq!(write_units(10, false), 1);
    }

    #[test]
    fn durations_round_up_in_each_services_increment() {
        assert_eq!(lambda_billed_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(lambda_billed_ms(Duration::from_millis(7)), 7);
        assert_eq!(gb_seconds(1000, 1024), 1.0);
        assert_eq!(gb_seconds(500, 256), 0.125);
        assert_eq!(express_billed(Duration::from_millis(101), 10), (200, 64));
        assert_eq!(express_billed(Duration::from_millis(100), 65), (100, 128));
        assert_eq!(websocket_message_units(33 * KB), 2);
        assert_eq!(websocket_message_units(200), 1);
        assert_eq!(http_request_units(512 * KB), 1);
        assert_eq!(http_request_units(512 * KB + 1), 2);
    }
}
