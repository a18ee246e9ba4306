//! DynamoDB's billing, metered at the emulated IAM gate every function's DynamoDB calls
//! pass (`iam.rs`): each call's read and write request units by AWS's rules
//! (`zts_cost::units`), from the real items. A write is billed by the larger of the
//! item before and after it (read from the store around the call, never through the
//! function), a delete by the item it deletes, a transaction twice; every index the
//! item is in, or leaves, or moves within, is billed its own write. A conditional write
//! that fails is billed the existing item's units (or the minimum), as DynamoDB bills it.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use zts_cost::report::TableUnits;
use zts_cost::units::{Read, item_size, read_units, write_units};

pub type Item = Map<String, Value>;

/// What an index holds of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    KeysOnly,
    All,
    Include(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexShape {
    pub name: String,
    pub key: Vec<String>,
    pub projection: Projection,
}

/// A table's key and its global secondary indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    pub key: Vec<String>,
    pub indexes: Vec<IndexShape>,
}

impl TableShape {
    /// The item's primary key, as a `Key` parameter.
    fn key_of(&self, item: &Item) -> Item {
        self.key
            .iter()
            .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
            .collect()
    }

    /// What `index` holds of `item`: `None` when the item lacks the index's key (a
    /// sparse index leaves it out).
    fn projected(&self, index: &IndexShape, item: &Item) -> Option<Item> {
        if !index.key.iter().all(|k| item.contains_key(k)) {
            return None;
        }
        let keep = |name: &str| match &index.projection {
            Projection::All => true,
            Projection::KeysOnly => self.key.iter().chain(&index.key).any(|k| k == name),
            Projection::Include(extra) => self
                .key
                .iter()
                .chain(&index.key)
                .chain(extra)
                .any(|k| k == name),
        };
        Some(
            item.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The write units one change of an item costs, the table's and its indexes'.
    pub fn write_cost(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> u64 {
        let (table, indexes) = self.write_parts(before, after, transactional);
        table + indexes.iter().map(|(_, u)| u).sum::<u64>()
    }

    /// [`TableShape::write_cost`] in parts: the table's units, and each index's.
    pub fn write_parts(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> (u64, Vec<(String, u64)>) {
        let size = |i: Option<&Item>| i.map_or(0, item_size);
        let table = write_units(size(before).max(size(after)), transactional);
        let mut parts = Vec::new();
        for index in &self.indexes {
            let old = before.and_then(|i| self.projected(index, i));
            let new = after.and_then(|i| self.projected(index, i));
            let key_of = |p: &Option<Item>| {
                p.as_ref().map(|p| {
                    index
                        .key
                        .iter()
                        .map(|k| p.get(k).cloned())
                        .collect::<Vec<_>>()
                })
            };
            let units = match (&old, &new) {
                (None, None) => 0,
                (Some(o), None) => write_units(item_size(o), transactional),
                (None, Some(n)) => write_units(item_size(n), transactional),
                // A new index key moves the entry: a delete and a put.
                (Some(o), Some(n)) if key_of(&old) != key_of(&new) => {
                    write_units(item_size(o), transactional)
                        + write_units(item_size(n), transactional)
                }
                (Some(o), Some(n)) if o != n => {
                    write_units(item_size(o).max(item_size(n)), transactional)
                }
                _ => 0,
            };
            if units > 0 {
                parts.push((index.name.clone(), units));
            }
        }
        (table, parts)
    }

    /// What kind of item `key` names, for the breakdown: its sort key up to the first
    /// `#` (`META`, `EVENT`, `DEDUPE`, …), or `item` for a table with a partition key only.
    fn kind_of(&self, key: &Item) -> String {
        self.key
            .get(1)
            .and_then(|sk| key.get(sk))
            .and_then(|v| v["S"].as_str())
            .map_or_else(
                || "item".to_string(),
                |sk| sk.split('#').next().unwrap_or(sk).to_string(),
            )
    }
}

/// The shape of the template's table `logical_id` (its KeySchema and its indexes').
pub fn shape_of(template: &super::template::Template, logical_id: &str) -> Option<TableShape> {
    let props = &template.resource(logical_id)?["Properties"];
    let keys = |schema: &serde_norway::Value| -> Vec<String> {
        schema
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|k| k["AttributeName"].as_str().map(str::to_string))
            .collect()
    };
    let indexes = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|g| IndexShape {
            name: g["IndexName"].as_str().unwrap_or_default().to_string(),
            key: keys(&g["KeySchema"]),
            projection: match g["Projection"]["ProjectionType"].as_str() {
                Some("ALL") => Projection::All,
                Some("INCLUDE") => Projection::Include(
                    g["Projection"]["NonKeyAttributes"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect(),
                ),
                _ => Projection::KeysOnly,
            },
        })
        .collect();
    Some(TableShape {
        key: keys(&props["KeySchema"]),
        indexes,
    })
}

/// One write a call makes: its table, the item's key, the item as sent (a Put) and
/// whether it deletes.
#[derive(Debug, Clone)]
struct Write {
    table: String,
    key: Item,
    put: Option<Item>,
    delete: bool,
}

/// The writes of one call (`TransactWriteItems`' Put, Update and Delete, a batch's
/// requests, or the one item of a PutItem, UpdateItem or DeleteItem).
fn writes_of(
    operation: &str,
    request: &Value,
    shapes: &BTreeMap<String, TableShape>,
) -> Vec<Write> {
    let one = |table: &str, body: &Value, kind: &str| -> Option<Write> {
        let shape = shapes.get(table)?;
        let (key, put) = match kind {
            "Put" => {
                let item = body["Item"].as_object()?.clone();
                (shape.key_of(&item), Some(item))
            }
            _ => (body["Key"].as_object()?.clone(), None),
        };
        Some(Write {
            table: table.to_string(),
            key,
            put,
            delete: kind == "Delete",
        })
    };
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            let kind = operation.trim_end_matches("Item");
            request["TableName"]
                .as_str()
                .and_then(|t| one(t, request, kind))
                .into_iter()
                .collect()
        }
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                ["Put", "Update", "Delete"].iter().find_map(|kind| {
                    let body = item.get(*kind)?;
                    one(body["TableName"].as_str()?, body, kind)
                })
            })
            .collect(),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                requests
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(move |r| {
                        if let Some(put) = r.get("PutRequest") {
                            one(table, put, "Put")
                        } else {
                            r.get("DeleteRequest").and_then(|d| one(table, d, "Delete"))
                        }
                    })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The read units of a call, by table, from its request and its answer.
pub fn read_cost(operation: &str, request: &Value, answer: &Value) -> Vec<(String, f64)> {
    let how = |r: &Value| {
        if r["ConsistentRead"].as_bool() == Some(true) {
            Read::Strong
        } else {
            Read::Eventual
        }
    };
    let size = |v: &Value| v.as_object().map_or(0, item_size);
    match operation {
        "GetItem" => request["TableName"]
            .as_str()
            .map(|t| {
                (
                    t.to_string(),
                    read_units(size(&answer["Item"]), how(request)),
                )
            })
            .into_iter()
            .collect(),
        // A Query's or Scan's result is rounded as a whole; an index is read eventually.
        "Query" | "Scan" => request["TableName"]
            .as_str()
            .map(|t| {
                let bytes = answer["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(size)
                    .sum();
                (t.to_string(), read_units(bytes, how(request)))
            })
            .into_iter()
            .collect(),
        // Each key asked for is a read of its own, found or not.
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, asked)| {
                let found: Vec<u64> = answer["Responses"][table]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(size)
                    .collect();
                let keys = asked["Keys"].as_array().map_or(0, Vec::len);
                let missing = keys.saturating_sub(found.len()) as f64;
                let units = found
                    .iter()
                    .map(|b| read_units(*b, how(asked)))
                    .sum::<f64>()
                    + missing * read_units(0, how(asked));
                (table.clone(), units)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The units metered so far, by table.
#[derive(Default)]
pub struct DynamoMeter {
    pub shapes: BTreeMap<String, TableShape>,
    units: Mutex<BTreeMap<String, TableUnits>>,
    /// Write units by table and item kind (`projects META`, `projects index by-owner`).
    writes_by_item: Mutex<BTreeMap<String, f64>>,
}

/// What a write call needs read around it.
pub struct Pending {
    transactional: bool,
    writes: Vec<(Write, Option<Item>)>,
}

impl DynamoMeter {
    pub fn new(shapes: BTreeMap<String, TableShape>) -> Self {
        DynamoMeter {
            shapes,
            units: Mutex::new(BTreeMap::new()),
            writes_by_item: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn units(&self) -> BTreeMap<String, TableUnits> {
        self.units
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Write units by table (the name's last word) and item kind.
    pub fn writes_by_item(&self) -> BTreeMap<String, f64> {
        self.writes_by_item
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add_write(&self, table: &str, what: &str, units: u64) {
        let short = table.rsplit('-').next().unwrap_or(table);
        *self
            .writes_by_item
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(format!("{short} {what}"))
            .or_default() += units as f64;
        self.add(table, units as f64, 0.0);
    }

    fn add(&self, table: &str, write: f64, read: f64) {
        let mut units = self.units.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = units.entry(table.to_string()).or_default();
        entry.write_units += write;
        entry.read_units += read;
    }

    /// Before a call: the items its writes will change, as they are now. `fetch` reads
    /// one item from the store behind the gate (the meter's own read, never billed).
    pub async fn before<F, Fut>(&self, operation: &str, request: &Value, fetch: &F) -> Pending
    where
        F: Fn(String, Item) -> Fut,
        Fut: std::future::Future<Output = Option<Item>>,
    {
        let mut writes = Vec::new();
        for write in writes_of(operation, request, &self.shapes) {
            let old = fetch(write.table.clone(), write.key.clone()).await;
            writes.push((write, old));
        }
        Pending {
            transactional: operation == "TransactWriteItems",
            writes,
        }
    }

    /// After a call: its read units from the answer, its write units from the items
    /// before and after it. A refused conditional write is billed the existing item.
    pub async fn after<F, Fut>(
        &self,
        operation: &str,
        request: &Value,
        status: u16,
        answer: &Value,
        pending: Pending,
        fetch: &F,
    ) where
        F: Fn(String, Item) -> Fut,
        Fut: std::future::Future<Output = Option<Item>>,
    {
        if status == 200 {
            for (table, units) in read_cost(operation, request, answer) {
                self.add(&table, 0.0, units);
            }
        }
        let condition_failed = answer["__type"].as_str().is_some_and(|t| {
            t.ends_with("ConditionalCheckFailedException")
                || t.ends_with("TransactionCanceledException")
        });
        if status != 200 && !condition_failed {
            return;
        }
        for (write, old) in pending.writes {
            let Some(shape) = self.shapes.get(&write.table) else {
                continue;
            };
            let kind = shape.kind_of(&write.key);
            if status != 200 {
                let units = write_units(old.as_ref().map_or(0, item_size), pending.transactional);
                self.add_write(&write.table, &format!("{kind} (refused)"), units);
                continue;
            }
            let new = match (&write.put, write.delete) {
                (_, true) => None,
                (Some(put), _) => Some(put.clone()),
                (None, false) => fetch(write.table.clone(), write.key.clone()).await,
            };
            let (table, indexes) =
                shape.write_parts(old.as_ref(), new.as_ref(), pending.transactional);
            self.add_write(&write.table, &kind, table);
            for (index, units) in indexes {
                self.add_write(&write.table, &format!("index {index}"), units);
            }
        }
    }
}

/// The GetItem request the meter sends for a table's item.
pub fn get_item_request(table: &str, key: &Item) -> Value {
    json!({"TableName": table, "Key": key, "ConsistentRead": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects() -> TableShape {
        TableShape {
            key: vec!["pk".into(), "sk".into()],
            indexes: vec![IndexShape {
                name: "by-pending-run".into(),
                key: vec!["gsi2pk".into(), "gsi2sk".into()],
                projection: Projection::KeysOnly,
            }],
        }
    }

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_write_is_billed_the_larger_image_and_each_index_change() {
        let shape = projects();
        let small = item(json!({"pk": {"S": "P#1"}, "sk": {"S": "META"}}));
        let big =
            item(json!({"pk": {"S": "P#1"}, "sk": {"S": "META"}, "body": {"S": "x".repeat(1500)}}));
        // A new item without the index's key: the table's write alone.
        assert_eq!(shape.write_cost(None, Some(&small), false), 1);
        // An update that grows the item past 1 KB: the larger image.
        assert_eq!(shape.write_cost(Some(&small), Some(&big), false), 2);
        assert_eq!(shape.write_cost(Some(&big), Some(&small), false), 2);
        // In a transaction, twice.
        assert_eq!(shape.write_cost(None, Some(&big), true), 4);
        // Entering the sparse index: one more write; leaving it: one more; moving within
        // it (a new sort key): a delete and a put.
        let mut pending = small.clone();
        pending.insert("gsi2pk".into(), json!({"S": "PENDING#3"}));
        pending.insert("gsi2sk".into(), json!({"S": "2026-12-04T00:00:00Z"}));
        assert_eq!(shape.write_cost(Some(&small), Some(&pending), false), 2);
        assert_eq!(shape.write_cost(Some(&pending), Some(&small), false), 2);
        let mut moved = pending.clone();
        moved.insert("gsi2sk".into(), json!({"S": "2026-12-04T00:06:00Z"}));
        assert_eq!(shape.write_cost(Some(&pending), Some(&moved), false), 3);
        // A change outside a keys-only index's attributes does not touch it.
        let mut grown = pending.clone();
        grown.insert("body".into(), json!({"S": "y"}));
        assert_eq!(shape.write_cost(Some(&pending), Some(&grown), false), 1);
        // A delete: the deleted item, and its index entry.
        assert_eq!(shape.write_cost(Some(&pending), None, false), 2);
    }

    #[test]
    fn reads_are_billed_by_what_came_back() {
        let one_kb = json!({"pk": {"S": "x".repeat(1000)}});
        let get = read_cost(
            "GetItem",
            &json!({"TableName": "t", "ConsistentRead": true}),
            &json!({"Item": one_kb}),
        );
        assert_eq!(get, vec![("t".to_string(), 1.0)]);
        // Not found: still the minimum; eventual: half.
        let miss = read_cost("GetItem", &json!({"TableName": "t"}), &json!({}));
        assert_eq!(miss, vec![("t".to_string(), 0.5)]);
        // A query's result is rounded once: five 1 KB items, 5 KB, are 8 KB: two units,
        // one when read eventually.
        let items: Vec<Value> = (0..5).map(|_| one_kb.clone()).collect();
        let query = read_cost(
            "Query",
            &json!({"TableName": "t"}),
            &json!({"Items": items}),
        );
        assert_eq!(query, vec![("t".to_string(), 1.0)]);
        // A batch: each key, found or not.
        let batch = read_cost(
            "BatchGetItem",
            &json!({"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": true}}}),
            &json!({"Responses": {"t": [one_kb]}}),
        );
        assert_eq!(batch, vec![("t".to_string(), 3.0)]);
    }

    #[test]
    fn the_projects_table_has_its_key_and_two_keys_only_indexes() {
        let template = crate::template::Template::parse(crate::template::TEMPLATE).unwrap();
        let shape = shape_of(&template, "ProjectsTable").unwrap();
        assert_eq!(shape.key, ["pk", "sk"]);
        let names: Vec<&str> = shape.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["by-owner", "by-pending-run"]);
        assert!(
            shape
                .indexes
                .iter()
                .all(|i| i.projection == Projection::KeysOnly)
        );
    }

    #[test]
    fn a_transactions_writes_are_each_item_it_puts_updates_or_deletes() {
        let mut shapes = BTreeMap::new();
        shapes.insert("p".to_string(), projects());
        let request = json!({"TransactItems": [
            {"Put": {"TableName": "p", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"N": "1"}}}},
            {"Update": {"TableName": "p", "Key": {"pk": {"S": "a"}, "sk": {"S": "c"}}}},
            {"ConditionCheck": {"TableName": "p", "Key": {"pk": {"S": "a"}, "sk": {"S": "d"}}}},
            {"Delete": {"TableName": "p", "Key": {"pk": {"S": "a"}, "sk": {"S": "e"}}}}
        ]});
        let writes = writes_of("TransactWriteItems", &request, &shapes);
        assert_eq!(writes.len(), 3);
        assert_eq!(
            writes[0].key,
            item(json!({"pk": {"S": "a"}, "sk": {"S": "b"}}))
        );
        assert!(writes[0].put.is_some() && writes[2].put.is_none() && writes[2].delete);
    }
}
