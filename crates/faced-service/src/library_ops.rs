//! Face-library management: groups, users and their faces (everything but enrolment, which
//! needs the engine and lives in `faces`).

use faced_errors::ErrorCode;
use faced_library::GroupScope;
use serde::Serialize;

use crate::service::FaceService;

/// `faceset/group/getlist`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct GroupList {
    /// Group ids in creation order.
    pub group_id_list: Vec<String>,
}

/// `faceset/group/getusers`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct UserIdList {
    /// User ids in creation order.
    pub user_id_list: Vec<String>,
}

/// One group holding the user (`faceset/user/get`).
#[derive(Debug, Clone, Serialize)]
pub struct UserInGroup {
    /// The user's info in that group.
    pub user_info: String,
    /// The group.
    pub group_id: String,
}

/// `faceset/user/get`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct UserList {
    /// One entry per group holding the user.
    pub user_list: Vec<UserInGroup>,
}

/// One registered face (`faceset/face/getlist`).
#[derive(Debug, Clone, Serialize)]
pub struct FaceEntry {
    /// The face's token.
    pub face_token: String,
    /// Registration time, `YYYY-MM-DD HH:MM:SS` (UTC).
    pub ctime: String,
}

/// `faceset/face/getlist`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct FaceList {
    /// The user's faces in registration order.
    pub face_list: Vec<FaceEntry>,
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

    /// Baidu `faceset/group/delete`: the group and everything in it (large groups are removed
    /// in the background and answer 223128 meanwhile).
    pub async fn group_delete(&self, app_id: &str, group_id: &str) -> Result<(), ErrorCode> {
        let (app, group) = (app_id.to_string(), group_id.to_string());
        self.store(move |lib| lib.delete_group(&app, &group)).await
    }

    /// Baidu `faceset/group/getusers`: a page of a group's users.
    pub async fn group_users(
        &self,
        app_id: &str,
        group_id: &str,
        start: usize,
        length: usize,
    ) -> Result<UserIdList, ErrorCode> {
        let (app, group) = (app_id.to_string(), group_id.to_string());
        let user_id_list = self
            .store(move |lib| lib.list_users(&app, &group, start, length))
            .await?;
        Ok(UserIdList { user_id_list })
    }

    /// Baidu `faceset/user/get`: the groups holding a user (`@ALL` = every group).
    pub async fn user_get(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<UserList, ErrorCode> {
        let (app, scope, user) = (
            app_id.to_string(),
            GroupScope::from_param(group_id),
            user_id.to_string(),
        );
        let records = self
            .store(move |lib| lib.get_user(&app, &scope, &user))
            .await?;
        let user_list = records
            .into_iter()
            .map(|r| UserInGroup {
                user_info: r.user_info,
                group_id: r.group_id,
            })
            .collect();
        Ok(UserList { user_list })
    }

    /// Baidu `faceset/user/delete`: a user from one group or `@ALL`.
    pub async fn user_delete(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), ErrorCode> {
        let (app, scope, user) = (
            app_id.to_string(),
            GroupScope::from_param(group_id),
            user_id.to_string(),
        );
        self.store(move |lib| lib.delete_user(&app, &scope, &user))
            .await
    }

    /// Baidu `faceset/user/copy`: a user with its info and faces into other groups.
    pub async fn user_copy(
        &self,
        app_id: &str,
        user_id: &str,
        src_group_id: &str,
        dst_group_ids: Vec<String>,
    ) -> Result<(), ErrorCode> {
        let (app, user, src) = (
            app_id.to_string(),
            user_id.to_string(),
            src_group_id.to_string(),
        );
        self.store(move |lib| lib.copy_user(&app, &user, &src, &dst_group_ids))
            .await
    }

    /// Baidu `faceset/face/getlist`: a user's faces.
    pub async fn face_list(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<FaceList, ErrorCode> {
        let (app, group, user) = (
            app_id.to_string(),
            group_id.to_string(),
            user_id.to_string(),
        );
        let faces = self
            .store(move |lib| lib.list_faces(&app, &group, &user))
            .await?;
        let face_list = faces
            .into_iter()
            .map(|f| FaceEntry {
                face_token: f.face_token,
                ctime: format_ctime(f.created_at),
            })
            .collect();
        Ok(FaceList { face_list })
    }

    /// Baidu `faceset/face/delete`: one face (the user goes with its last face).
    pub async fn face_delete(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        face_token: &str,
    ) -> Result<(), ErrorCode> {
        let (app, group, user, token) = (
            app_id.to_string(),
            group_id.to_string(),
            user_id.to_string(),
            face_token.to_string(),
        );
        self.store(move |lib| lib.delete_face(&app, &group, &user, &token))
            .await
    }
}

/// Unix seconds as Baidu's `ctime` (`2024-05-29 10:03:21`), in UTC.
fn format_ctime(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ctime_format() {
        assert_eq!(super::format_ctime(1_717_000_123), "2024-05-29 16:28:43");
    }
}
