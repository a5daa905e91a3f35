//! Group management: create and list.

use faced_errors::ErrorCode;
use serde::Serialize;

use crate::service::FaceService;

/// `faceset/group/getlist`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct GroupList {
    /// Group ids in creation order.
    pub group_id_list: Vec<String>,
}

impl FaceService {
    /// Baidu `faceset/group/add`: an empty group; 223101 when it exists.
    pub async fn group_add(&self, app_id: &str, group_id: &str) -> Result<(), ErrorCode> {
        let (app, group) = (app_id.to_string(), group_id.to_string());
        self.store(move |lib| lib.create_group(&app, &group)).await
    }

    /// Baidu `faceset/group/getlist`: a page of the app's groups.
    pub async fn group_list(
        &self,
        app_id: &str,
        start: usize,
        length: usize,
    ) -> Result<GroupList, ErrorCode> {
        let app = app_id.to_string();
        let group_id_list = self
            .store(move |lib| lib.list_groups(&app, start, length))
            .await?;
        Ok(GroupList { group_id_list })
    }
}
