//! The broadcaster's Lambda side: a batch of Projects-table stream records. The event
//! source mapping's filter already passes only inserted `EVENT#` items; anything else that
//! slips through is skipped. Records are handled in order; when reading a project's
//! subscribers fails, that record and every later one are reported as batch item failures
//! (Lambda retries from the first), so no connection ever sees a project's events out of
//! order; a retried record is never pushed twice, since each subscription's delivery mark
//! already covers it (`crate::Ordering::ByMark`). A record that can never be decoded (a poison record) is logged and skipped: a
//! retry cannot fix it, and clients fill any gap from `GET …/events`.

use crate::{Ordering, broadcast};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use zts_domain::events::Event;
use zts_domain::items::EVENT_PREFIX;
use zts_domain::ports::{ConnectionStore, EventPusher, ProjectStore};

/// What one batch did, besides the failures it reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub broadcast: usize,
    pub skipped: usize,
    pub poison: usize,
    pub delivery: crate::Delivery,
}

fn is_event_insert(record: &EventRecord) -> bool {
    let sk = record
        .change
        .keys
        .get("sk")
        .and_then(|v| serde_dynamo::from_attribute_value::<_, String>(v.clone()).ok());
    record.event_name == "INSERT" && sk.is_some_and(|sk| sk.starts_with(EVENT_PREFIX))
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = record.change.sequence_number.clone();
    f
}

pub async fn handle_batch<C, S, P>(
    connections: &C,
    projects: &S,
    pusher: &P,
    batch: StreamEvent,
    ordering: Ordering,
) -> (DynamoDbEventResponse, BatchSummary)
where
    C: ConnectionStore + ?Sized,
    S: ProjectStore + ?Sized,
    P: EventPusher + ?Sized,
{
    let mut response = DynamoDbEventResponse::default();
    let mut summary = BatchSummary::default();
    let mut records = batch.records.iter();
    while let Some(record) = records.next() {
        if !is_event_insert(record) {
            summary.skipped += 1;
            continue;
        }
        let event: Event = match serde_dynamo::from_item(record.change.new_image.clone()) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, event_id = %record.event_id, sequence_number = ?record.change.sequence_number, "poison stream record skipped");
                zts_domain::metrics::poison_record();
                summary.poison += 1;
                continue;
            }
        };
        match broadcast(connections, projects, pusher, &event, ordering).await {
            Ok(d) => {
                summary.broadcast += 1;
                summary.delivery.add(d);
            }
            Err(e) => {
                tracing::warn!(error = %e, project_id = %event.project_id, seq = event.seq, "subscribers unreadable; the rest of the batch will be retried");
                response.batch_item_failures.push(failure(record));
                response
                    .batch_item_failures
                    .extend(records.by_ref().map(failure));
                break;
            }
        }
    }
    (response, summary)
}
