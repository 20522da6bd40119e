use wuye::config::Settings;
use wuye::startup::{build_state, Overrides};

#[tokio::test]
async fn without_demo_start_up_names_every_missing_required_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    let settings = Settings::load(&[("database.url", url)]).unwrap();
    let err = build_state(settings, Overrides::default())
        .await
        .err()
        .expect("must refuse to start");
    let msg = err.to_string();
    for key in ["security.data_key", "wechat.appid", "wechat.secret"] {
        assert!(msg.contains(key), "{msg}");
    }
}

#[test]
fn testing_now_is_refused_outside_the_test_environment() {
    let err = Settings::load(&[("testing.now", "2026-01-01T00:00:00Z".into())]).expect_err("refused");
    assert!(err.to_string().contains("testing.now"));
    let ok = Settings::load(&[
        ("testing.now", "2026-01-01T00:00:00Z".into()),
        ("app.environment", "test".into()),
    ]);
    assert!(ok.is_ok());
}

#[test]
fn env_variables_override_files() {
    // wechat.api_base is always overridden by spawn_app, so setting it here disturbs no other test.
    std::env::set_var("WUYE__WECHAT__API_BASE", "http://wechat.from-env.test");
    let s = Settings::load(&[]).unwrap();
    std::env::remove_var("WUYE__WECHAT__API_BASE");
    assert_eq!(s.wechat.api_base, "http://wechat.from-env.test");
    assert_eq!(s.sessions.owner_ttl_days, 30);
}

#[test]
fn an_empty_template_id_is_no_template() {
    let s = Settings::load(&[
        ("sms.templates.autodebit_notice", "".into()),
        ("sms.templates.overdue_friendly", "100002".into()),
        ("wechat.templates.autodebit_notice", "  ".into()),
    ])
    .unwrap();
    assert!(!s.sms.templates.contains_key("autodebit_notice"));
    assert!(!s.wechat.templates.contains_key("autodebit_notice"));
    assert_eq!(
        s.sms.templates.get("overdue_friendly").map(String::as_str),
        Some("100002")
    );
}
