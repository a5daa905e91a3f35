//! Tests of call quotas: limits per scope, the three refusals, counting once, the daily
//! reset, persistence across a reopen, and racing callers.

use super::*;

fn limits(qps: Option<u64>, daily: Option<u64>, total: Option<u64>) -> QuotaChange {
    QuotaChange {
        qps: Some(qps),
        daily: Some(daily),
        total: Some(total),
    }
}

fn refusal(result: Result<(), LibraryError>) -> Option<QuotaKind> {
    match result {
        Ok(()) => None,
        Err(LibraryError::QuotaExceeded { kind }) => Some(kind),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn an_apis_own_limit_overrides_the_default_field_by_field() {
    let dir = TempDir::new("quota-scopes");
    let lib = Library::open(dir.path()).unwrap();
    let app = lib.create_app("a").unwrap().app_id;
    lib.set_quota(&app, EVERY_API, limits(Some(10), Some(100), None))
        .unwrap();
    let entries = lib
        .set_quota(
            &app,
            "detect",
            QuotaChange {
                daily: Some(Some(5)),
                ..QuotaChange::default()
            },
        )
        .unwrap();
    assert_eq!(entries[0].api, EVERY_API, "default first");
    assert_eq!(entries[1].api, "detect");
    assert_eq!(
        lib.effective_limits(&app, "detect").unwrap(),
        QuotaLimits {
            qps: Some(10),
            daily: Some(5),
            total: None
        }
    );
    assert_eq!(
        lib.effective_limits(&app, "search").unwrap(),
        QuotaLimits {
            qps: Some(10),
            daily: Some(100),
            total: None
        }
    );
    // Unsetting every field removes the scope.
    let entries = lib
        .set_quota(&app, "detect", limits(None, None, None))
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(matches!(
        lib.set_quota("00000000", "detect", limits(Some(1), None, None)),
        Err(LibraryError::AppNotFound { .. })
    ));
    assert!(matches!(
        lib.set_quota("00000000", "detect", limits(None, None, None)),
        Err(LibraryError::AppNotFound { .. })
    ));
}

#[test]
fn each_quota_refuses_with_its_own_kind_and_refusals_are_not_counted() {
    let dir = TempDir::new("quota-kinds");
    let lib = Library::open(dir.path()).unwrap();
    let app = lib.create_app("a").unwrap().app_id;
    let day = "2026-12-03";

    lib.set_quota(&app, "detect", limits(Some(2), None, None))
        .unwrap();
    assert_eq!(refusal(lib.admit_call(&app, "detect", day, NOW)), None);
    assert_eq!(refusal(lib.admit_call(&app, "detect", day, NOW)), None);
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", day, NOW)),
        Some(QuotaKind::Qps)
    );
    // Another API and the next second are separate windows.
    assert_eq!(refusal(lib.admit_call(&app, "search", day, NOW)), None);
    assert_eq!(refusal(lib.admit_call(&app, "detect", day, NOW + 1)), None);

    lib.set_quota(&app, "detect", limits(None, Some(4), None))
        .unwrap();
    assert_eq!(refusal(lib.admit_call(&app, "detect", day, NOW + 2)), None);
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", day, NOW + 3)),
        Some(QuotaKind::Daily)
    );
    // The next day starts again from zero.
    let next_day = "2026-12-04";
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", next_day, NOW + 4)),
        None
    );

    lib.set_quota(&app, "detect", limits(None, None, Some(6)))
        .unwrap();
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", next_day, NOW + 5)),
        None
    );
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", next_day, NOW + 6)),
        Some(QuotaKind::Total)
    );
    // Total wins over daily: both are spent here, the call can never pass again.
    lib.set_quota(&app, "detect", limits(None, Some(1), Some(6)))
        .unwrap();
    assert_eq!(
        refusal(lib.admit_call(&app, "detect", next_day, NOW + 7)),
        Some(QuotaKind::Total)
    );

    let usage = lib.usage(&app, next_day).unwrap();
    let detect = usage.iter().find(|u| u.api == "detect").unwrap();
    assert_eq!(
        (detect.today, detect.total),
        (2, 6),
        "only admitted calls count"
    );
    let search = usage.iter().find(|u| u.api == "search").unwrap();
    assert_eq!(
        (search.today, search.total),
        (0, 1),
        "search was last called the day before"
    );
}

#[test]
fn counters_survive_a_reopen_and_leave_with_their_app() {
    let dir = TempDir::new("quota-reopen");
    let day = "2026-12-03";
    let app = {
        let lib = Library::open(dir.path()).unwrap();
        let app = lib.create_app("a").unwrap().app_id;
        lib.set_quota(&app, EVERY_API, limits(None, Some(3), None))
            .unwrap();
        for second in 0..3 {
            lib.admit_call(&app, "match", day, NOW + second).unwrap();
        }
        app
    };
    let lib = Library::open(dir.path()).unwrap();
    assert_eq!(
        refusal(lib.admit_call(&app, "match", day, NOW + 10)),
        Some(QuotaKind::Daily)
    );
    assert_eq!(lib.usage(&app, day).unwrap()[0].total, 3);
    lib.delete_app(&app).unwrap();
    assert!(lib.usage(&app, day).unwrap().is_empty());
    assert!(lib.quotas(&app).unwrap().is_empty());
}

#[test]
fn racing_callers_never_exceed_a_quota() {
    let dir = TempDir::new("quota-race");
    let lib = Arc::new(Library::open(dir.path()).unwrap());
    let app = lib.create_app("a").unwrap().app_id;
    lib.set_quota(&app, "detect", limits(None, None, Some(25)))
        .unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let admitted = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let (lib, app, barrier, admitted) =
                (lib.clone(), app.clone(), barrier.clone(), &admitted);
            scope.spawn(move || {
                barrier.wait();
                for i in 0..10 {
                    if lib
                        .admit_call(&app, "detect", "2026-12-03", NOW + i)
                        .is_ok()
                    {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::Relaxed), 25);
    assert_eq!(lib.usage(&app, "2026-12-03").unwrap()[0].total, 25);
}
