//! A DynamoDB event source mapping, emulated (feature `aws`): the table's stream is polled
//! through the DynamoDB Streams API (moto) and delivered to the function as the template's
//! mapping says — `FilterCriteria` applied before batching, `BatchSize`,
//! `MaximumBatchingWindowInSeconds`, one batch at a time per shard, `ReportBatchItemFailures`
//! (retry from the lowest failed sequence number), `BisectBatchOnFunctionError`,
//! `MaximumRetryAttempts`, and the on-failure destination (an SQS queue on moto, with
//! Lambda's batch-info record). GetRecords answers in the very JSON a Lambda stream event
//! carries, so records pass through as they are, with `eventSourceARN` added.

use super::runtime::FunctionPool;
use super::template::{Template, TemplateError};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often an idle shard is polled (Lambda polls a stream's shards four times a second).
const POLL: Duration = Duration::from_millis(250);

/// One `Type: DynamoDB` event of a function in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMapping {
    /// The function's logical id.
    pub function: String,
    /// The table whose stream it reads.
    pub table: String,
    pub batch_size: usize,
    pub batching_window: Duration,
    /// None: retried until the record expires (-1).
    pub max_retries: Option<u32>,
    pub bisect: bool,
    pub report_item_failures: bool,
    /// `FilterCriteria.Filters[].Pattern`, parsed; a record passes when any matches.
    pub filters: Vec<Value>,
    /// The on-failure queue's logical id.
    pub on_failure: Option<String>,
    pub latest: bool,
}

fn unsupported(resource: &str, property: &str, what: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported {
        resource: resource.to_string(),
        property: property.to_string(),
        what: what.into(),
    }
}

/// The first name in a `!GetAtt X.Attr` (string or list form).
fn get_att_resource(value: &serde_norway::Value) -> Option<(String, String)> {
    let serde_norway::Value::Tagged(t) = value else {
        return None;
    };
    if t.tag != "!GetAtt" {
        return None;
    }
    match &t.value {
        serde_norway::Value::String(s) => s
            .split_once('.')
            .map(|(r, a)| (r.to_string(), a.to_string())),
        serde_norway::Value::Sequence(p) if p.len() == 2 => {
            Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))
        }
        _ => None,
    }
}

/// Refuses a filter pattern using anything but exact values and `prefix` (the operators
/// this emulation matches), naming where it sits.
fn check_pattern(pattern: &Value, at: &str, resource: &str) -> Result<(), TemplateError> {
    match pattern {
        Value::Object(fields) => {
            for (k, v) in fields {
                check_pattern(v, &format!("{at}.{k}"), resource)?;
            }
            Ok(())
        }
        Value::Array(options) => {
            for option in options {
                match option {
                    Value::Object(op)
                        if op.len() == 1 && op.get("prefix").is_some_and(Value::is_string) => {}
                    Value::Object(op) => {
                        return Err(unsupported(
                            resource,
                            "FilterCriteria",
                            format!(
                                "{at}: the operator {op:?} is not emulated (only exact values and prefix)"
                            ),
                        ));
                    }
                    Value::Array(_) => {
                        return Err(unsupported(
                            resource,
                            "FilterCriteria",
                            format!("{at}: nested list"),
                        ));
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Err(unsupported(
            resource,
            "FilterCriteria",
            format!("{at}: a pattern's values are lists"),
        )),
    }
}

/// Whether `record` matches `pattern` (every field named; a list matches any of its values).
pub fn matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| match record.get(k) {
            Some(v) => matches(p, v),
            None => false,
        }),
        Value::Array(options) => options.iter().any(|o| match o {
            Value::Object(op) => match (op.get("prefix"), record) {
                (Some(Value::String(prefix)), Value::String(v)) => v.starts_with(prefix.as_str()),
                _ => false,
            },
            literal => literal == record,
        }),
        _ => false,
    }
}

impl StreamMapping {
    pub fn from_template(template: &Template) -> Result<Vec<Self>, TemplateError> {
        let mut out = Vec::new();
        for (function, name, event) in template.function_events("DynamoDB") {
            let at = format!("{function}.Events.{name}");
            let p = &event["Properties"];
            let (table, attr) = get_att_resource(&p["Stream"])
                .ok_or_else(|| unsupported(&at, "Stream", "not !GetAtt Table.StreamArn"))?;
            if attr != "StreamArn" || template.resource_type(&table) != Some("AWS::DynamoDB::Table")
            {
                return Err(unsupported(&at, "Stream", "not !GetAtt Table.StreamArn"));
            }
            let number = |key: &str, default: i64| -> Result<i64, TemplateError> {
                match &p[key] {
                    serde_norway::Value::Null => Ok(default),
                    v => v
                        .as_i64()
                        .ok_or_else(|| unsupported(&at, key, "not a number")),
                }
            };
            let flag = |key: &str| p[key].as_bool().unwrap_or(false);
            let report_item_failures = p["FunctionResponseTypes"].as_sequence().is_some_and(|t| {
                t.iter()
                    .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
            });
            let mut filters = Vec::new();
            for filter in p["FilterCriteria"]["Filters"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let text = filter["Pattern"].as_str().ok_or_else(|| {
                    unsupported(&at, "FilterCriteria", "a Pattern that is not a string")
                })?;
                let pattern: Value = serde_json::from_str(text).map_err(|e| {
                    unsupported(
                        &at,
                        "FilterCriteria",
                        format!("a Pattern that is not JSON: {e}"),
                    )
                })?;
                check_pattern(&pattern, "Pattern", &at)?;
                filters.push(pattern);
            }
            let on_failure = match &p["DestinationConfig"]["OnFailure"] {
                serde_norway::Value::Null => None,
                d => {
                    let (queue, _) = get_att_resource(&d["Destination"])
                        .filter(|(q, _)| template.resource_type(q) == Some("AWS::SQS::Queue"))
                        .ok_or_else(|| {
                            unsupported(
                                &at,
                                "DestinationConfig",
                                "only an SQS queue of this template is emulated",
                            )
                        })?;
                    Some(queue)
                }
            };
            let retries = number("MaximumRetryAttempts", -1)?;
            out.push(StreamMapping {
                function: function.clone(),
                table,
                batch_size: usize::try_from(number("BatchSize", 100)?.clamp(1, 10_000))
                    .unwrap_or(100),
                batching_window: Duration::from_secs(
                    u64::try_from(number("MaximumBatchingWindowInSeconds", 0)?).unwrap_or(0),
                ),
                max_retries: u32::try_from(retries).ok(),
                bisect: flag("BisectBatchOnFunctionError"),
                report_item_failures,
                filters,
                on_failure,
                latest: p["StartingPosition"].as_str() != Some("TRIM_HORIZON"),
            });
        }
        Ok(out)
    }

    /// Whether the function receives `record` (no filters: every record).
    pub fn accepts(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| matches(f, record))
    }
}

/// Why a JSON 1.0 call to moto failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{target}: {source}")]
    Send {
        target: String,
        source: reqwest::Error,
    },
    #[error("{target}: {status} {body}")]
    Refused {
        target: String,
        status: u16,
        body: String,
    },
    #[error("{target}: the answer is not JSON: {source}")]
    Body {
        target: String,
        source: serde_json::Error,
    },
}

/// moto's JSON 1.0 protocol (DynamoDB Streams, SQS): the service is named by the signing
/// scope, which moto reads to route a request; moto checks no signature.
#[derive(Clone)]
pub struct MotoJson {
    http: reqwest::Client,
    endpoint: String,
    region: String,
}

impl MotoJson {
    pub fn new(endpoint: &str, region: &str) -> Self {
        // A call that hangs (moto slows down as its data grows) must not stall a poller.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        MotoJson {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
        }
    }

    pub async fn call(&self, scope: &str, target: &str, body: Value) -> Result<Value, CallError> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=emulated/20260101/{}/{scope}/aws4_request, SignedHeaders=host, Signature=0",
            self.region
        );
        let response = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", authorization)
            .body(body.to_string())
            .send()
            .await
            .map_err(|source| CallError::Send {
                target: target.to_string(),
                source,
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|source| CallError::Send {
            target: target.to_string(),
            source,
        })?;
        if !status.is_success() {
            return Err(CallError::Refused {
                target: target.to_string(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|source| CallError::Body {
            target: target.to_string(),
            source,
        })
    }
}

/// What the mapping did, for tests and the exit summary.
#[derive(Debug, Default)]
pub struct MappingCounts {
    pub records_read: AtomicU64,
    pub records_filtered_out: AtomicU64,
    pub batches: AtomicU64,
    pub retries: AtomicU64,
    pub bisects: AtomicU64,
    pub records_sent_to_failure: AtomicU64,
}

pub struct StreamPoller {
    pub mapping: StreamMapping,
    function: Arc<FunctionPool>,
    function_arn: String,
    stream_arn: String,
    failure_queue_url: Option<String>,
    moto: MotoJson,
    pub counts: MappingCounts,
}

/// One batch's outcome at the function.
enum Delivered {
    All,
    /// Retry from this index (the lowest failed record).
    From(usize),
    Failed,
}

impl StreamPoller {
    pub fn new(
        mapping: StreamMapping,
        function: Arc<FunctionPool>,
        function_arn: String,
        stream_arn: String,
        failure_queue_url: Option<String>,
        moto: MotoJson,
    ) -> Arc<Self> {
        Arc::new(StreamPoller {
            mapping,
            function,
            function_arn,
            stream_arn,
            failure_queue_url,
            moto,
            counts: MappingCounts::default(),
        })
    }

    async fn streams(&self, target: &str, body: Value) -> Result<Value, CallError> {
        self.moto
            .call(
                "dynamodb",
                &format!("DynamoDBStreams_20120810.{target}"),
                body,
            )
            .await
    }

    /// Opens an iterator on every shard not yet known (at `StartingPosition` for the
    /// shards there when the mapping starts, so nothing written after `start` is missed).
    async fn open_shards(&self, iterators: &mut Vec<(String, Option<String>)>) {
        if let Ok(description) = self
            .streams("DescribeStream", json!({ "StreamArn": self.stream_arn }))
            .await
        {
            for shard in description["StreamDescription"]["Shards"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let id = shard["ShardId"].as_str().unwrap_or_default().to_string();
                if iterators.iter().any(|(s, _)| *s == id) {
                    continue;
                }
                let kind = if self.mapping.latest {
                    "LATEST"
                } else {
                    "TRIM_HORIZON"
                };
                let iterator = self
                        .streams(
                            "GetShardIterator",
                            json!({ "StreamArn": self.stream_arn, "ShardId": id, "ShardIteratorType": kind }),
                        )
                        .await
                        .ok()
                        .and_then(|r| r["ShardIterator"].as_str().map(str::to_string));
                iterators.push((id, iterator));
            }
        }
    }

    /// Starts polling: the shards' iterators are open when this returns.
    pub async fn start(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mut iterators = Vec::new();
        self.open_shards(&mut iterators).await;
        tokio::spawn(self.run(iterators))
    }

    /// Polls every shard of the stream for as long as the task lives.
    async fn run(self: Arc<Self>, mut iterators: Vec<(String, Option<String>)>) {
        let mut pending: VecDeque<(String, Value)> = VecDeque::new();
        let mut first_pending_at: Option<Instant> = None;
        loop {
            self.open_shards(&mut iterators).await;
            for (shard, iterator) in &mut iterators {
                let Some(it) = iterator.clone() else { continue };
                let page = match self
                    .streams("GetRecords", json!({ "ShardIterator": it, "Limit": 1000 }))
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!(shard = %shard, error = %e, "GetRecords failed; polling again");
                        continue;
                    }
                };
                *iterator = page["NextShardIterator"].as_str().map(str::to_string);
                for mut record in page["Records"].as_array().cloned().unwrap_or_default() {
                    self.counts.records_read.fetch_add(1, Ordering::Relaxed);
                    record["eventSourceARN"] = json!(self.stream_arn);
                    if self.mapping.accepts(&record) {
                        pending.push_back((shard.clone(), record));
                        first_pending_at.get_or_insert_with(Instant::now);
                    } else {
                        self.counts
                            .records_filtered_out
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let window_over =
                first_pending_at.is_some_and(|t| t.elapsed() >= self.mapping.batching_window);
            if pending.len() >= self.mapping.batch_size || (!pending.is_empty() && window_over) {
                let n = pending.len().min(self.mapping.batch_size);
                let batch: Vec<(String, Value)> = pending.drain(..n).collect();
                first_pending_at = (!pending.is_empty()).then(Instant::now);
                let shard = batch[0].0.clone();
                self.deliver(&shard, batch.into_iter().map(|(_, r)| r).collect())
                    .await;
                continue;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Delivers one batch as Lambda does: retries, bisects, and finally the on-failure
    /// destination; returns when every record is either processed or given up on.
    async fn deliver(&self, shard: &str, batch: Vec<Value>) {
        self.counts.batches.fetch_add(1, Ordering::Relaxed);
        let mut work: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(batch, 0)]);
        while let Some((records, attempts)) = work.pop_front() {
            let outcome = self.invoke(&records).await;
            let (rest, function_error) = match outcome {
                Delivered::All => continue,
                Delivered::From(i) => (records[i..].to_vec(), false),
                Delivered::Failed => (records, true),
            };
            if self.mapping.max_retries.is_some_and(|max| attempts >= max) {
                self.give_up(shard, &rest, attempts + 1).await;
                continue;
            }
            self.counts.retries.fetch_add(1, Ordering::Relaxed);
            if function_error && self.mapping.bisect && rest.len() > 1 {
                self.counts.bisects.fetch_add(1, Ordering::Relaxed);
                let mut first = rest;
                let second = first.split_off(first.len() / 2);
                work.push_front((second, attempts + 1));
                work.push_front((first, attempts + 1));
            } else {
                work.push_front((rest, attempts + 1));
            }
        }
    }

    async fn invoke(&self, records: &[Value]) -> Delivered {
        let event = json!({ "Records": records });
        let answer = match self.function.invoke(&event).await {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(function = %self.mapping.function, error = %e, "stream batch failed");
                return Delivered::Failed;
            }
        };
        if !self.mapping.report_item_failures {
            return Delivered::All;
        }
        let Some(failures) = answer["batchItemFailures"].as_array() else {
            return Delivered::All;
        };
        // The lowest failed sequence number; an identifier that names no record of the
        // batch fails the whole batch, as Lambda does.
        let mut lowest: Option<usize> = None;
        for f in failures {
            let id = f["itemIdentifier"].as_str().unwrap_or_default();
            match records
                .iter()
                .position(|r| r["dynamodb"]["SequenceNumber"].as_str() == Some(id))
            {
                Some(i) => lowest = Some(lowest.map_or(i, |l: usize| l.min(i))),
                None => return Delivered::From(0),
            }
        }
        lowest.map_or(Delivered::All, Delivered::From)
    }

    /// Lambda's on-failure record for a stream batch: where the records are, not the records.
    async fn give_up(&self, shard: &str, records: &[Value], invocations: u32) {
        self.counts
            .records_sent_to_failure
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        tracing::warn!(function = %self.mapping.function, records = records.len(), "stream records given up on");
        let Some(queue) = &self.failure_queue_url else {
            return;
        };
        let seq = |r: Option<&Value>| {
            r.and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let arrival = |r: Option<&Value>| {
            r.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
                .map(|t| {
                    chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)
                        .unwrap_or_default()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
        };
        let body = json!({
            "requestContext": {
                "requestId": zts_domain::ids::ConnectionId::generate().as_str(),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": seq(records.first()),
                "endSequenceNumber": seq(records.last()),
                "approximateArrivalOfFirstRecord": arrival(records.first()),
                "approximateArrivalOfLastRecord": arrival(records.last()),
                "batchSize": records.len(),
                "streamArn": self.stream_arn,
            }
        });
        if let Err(e) = self
            .moto
            .call(
                "sqs",
                "AmazonSQS.SendMessage",
                json!({ "QueueUrl": queue, "MessageBody": body.to_string() }),
            )
            .await
        {
            tracing::warn!(error = %e, "the on-failure destination refused a record");
        }
    }
}
