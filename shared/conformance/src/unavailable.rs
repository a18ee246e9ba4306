//! A [`ProjectStore`] that is down: every call fails `Unavailable`, as DynamoDB does when
//! it throttles or times out. For handler tests of what a caller answers when the store
//! cannot.

use async_trait::async_trait;
use zts_domain::clock::Timestamp;
use zts_domain::events::Event;
use zts_domain::ids::{Owner, ProjectId};
use zts_domain::ports::{
    CommitOutcome, CreateOutcome, NewProject, Page, PageRequest, ProjectStore, PutArtifactOutcome,
    StoreError,
};
use zts_domain::project::{Artifact, ProjectMeta, ProjectView, StepName, StoredInput};
use zts_domain::transition::StepCommit;

pub struct UnavailableProjects;

fn down<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "the store is down (test double)".into(),
    ))
}

#[async_trait]
impl ProjectStore for UnavailableProjects {
    async fn create_project(&self, _: NewProject) -> Result<CreateOutcome, StoreError> {
        down()
    }
    async fn get_meta(&self, _: &ProjectId) -> Result<Option<ProjectMeta>, StoreError> {
        down()
    }
    async fn get_input(&self, _: &ProjectId) -> Result<Option<StoredInput>, StoreError> {
        down()
    }
    async fn get_project(
        &self,
        _: &Owner,
        _: &ProjectId,
    ) -> Result<Option<ProjectView>, StoreError> {
        down()
    }
    async fn put_artifact(
        &self,
        _: &ProjectId,
        _: Artifact,
    ) -> Result<PutArtifactOutcome, StoreError> {
        down()
    }
    async fn get_artifact(
        &self,
        _: &ProjectId,
        _: StepName,
    ) -> Result<Option<Artifact>, StoreError> {
        down()
    }
    async fn commit_step(&self, _: StepCommit) -> Result<CommitOutcome, StoreError> {
        down()
    }
    async fn list_projects(
        &self,
        _: &Owner,
        _: PageRequest,
    ) -> Result<Page<ProjectMeta>, StoreError> {
        down()
    }
    async fn events_after(&self, _: &ProjectId, _: u64, _: u32) -> Result<Vec<Event>, StoreError> {
        down()
    }
    async fn stale_runs(&self, _: Timestamp, _: u32) -> Result<Vec<ProjectMeta>, StoreError> {
        down()
    }
    async fn erase_contents(&self, _: &ProjectMeta) -> Result<(), StoreError> {
        down()
    }
    async fn deleted_projects(&self, _: Timestamp, _: u32) -> Result<Vec<ProjectMeta>, StoreError> {
        down()
    }
    async fn purge_project(&self, _: &ProjectId, _: u32) -> Result<bool, StoreError> {
        down()
    }
    async fn expired_projects(&self, _: Timestamp, _: u32) -> Result<Vec<ProjectMeta>, StoreError> {
        down()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        down()
    }
}
