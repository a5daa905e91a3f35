//! Call quotas as the gateway applies them: which day a call belongs to in the operator's
//! zone, and the admission of each authenticated call against its app's limits
//! (`18` per second, `17` per day, `19` in total; see [`faced_library::quotas`]).

use faced_errors::ErrorCode;
use faced_library::AppInfo;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::service::{unix_now, FaceService};

/// The zone whose midnight resets daily quotas: `local` (or empty) for the system's zone,
/// otherwise an IANA name such as `Asia/Shanghai` or `UTC`.
pub fn zone_named(name: &str) -> Result<TimeZone, String> {
    let name = name.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("local") {
        return Ok(TimeZone::system());
    }
    TimeZone::get(name).map_err(|e| format!("unknown time zone {name:?}: {e}"))
}

/// The local date (`YYYY-MM-DD`) of a Unix time in `zone`: the key of the daily counters, so
/// that they start again at local midnight.
pub fn local_day(zone: &TimeZone, unix_secs: i64) -> String {
    match Timestamp::from_second(unix_secs) {
        Ok(at) => at.to_zoned_datetime(zone.clone()).date().to_string(),
        Err(_) => "invalid-day".to_owned(),
    }
}

impl FaceService {
    /// Admits one call of `api` by `app`, counting it, or refuses it with the code of the
    /// quota that is spent.
    pub async fn admit(&self, app: &AppInfo, api: &str) -> Result<(), ErrorCode> {
        let now = unix_now();
        let day = local_day(&self.config.quota_zone, now);
        let (app_id, api) = (app.app_id.clone(), api.to_owned());
        self.store(move |lib| lib.admit_call(&app_id, &api, &day, now))
            .await
    }

    /// Today's date in the quota zone, for reporting usage.
    pub fn quota_day(&self) -> String {
        local_day(&self.config.quota_zone, unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_turns_at_local_midnight_of_the_configured_zone() {
        let shanghai = zone_named("Asia/Shanghai").unwrap();
        let utc = zone_named("UTC").unwrap();
        // 2026-12-03 15:59:59 UTC is 23:59:59 in Shanghai; one second later it is midnight.
        let before = 1_796_313_599;
        assert_eq!(local_day(&shanghai, before), "2026-12-03");
        assert_eq!(local_day(&shanghai, before + 1), "2026-12-04");
        assert_eq!(local_day(&utc, before + 1), "2026-12-03");
        assert_eq!(local_day(&utc, before + 1 + 8 * 3600), "2026-12-04");
        // A zone with daylight saving time: New York is UTC-5 in December.
        let new_york = zone_named("America/New_York").unwrap();
        assert_eq!(local_day(&new_york, before + 1 + 8 * 3600), "2026-12-03");
        assert_eq!(local_day(&new_york, before + 1 + 13 * 3600), "2026-12-04");
    }

    #[test]
    fn zones_are_named_or_local() {
        assert!(zone_named("local").is_ok());
        assert!(zone_named("").is_ok());
        assert!(zone_named("Mars/Olympus_Mons").is_err());
    }
}
