//! The store against both databases it runs on: SQLite in a data directory, and a real
//! PostgreSQL (Debian's, started here in a throwaway cluster on a loopback port when it is
//! installed). The audit log outlives a restart and is read back filtered and paged.

#[path = "common/postgres.rs"]
mod postgres;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use stageboard::store::{AuditEntry, AuditFilter, AuditOutcome, Store, StoreConfig};

fn entry(person: &str, action: &str, project: u64, status: u16, outcome: &str, at: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc).into(),
        person_id: 3,
        person: person.into(),
        action: action.into(),
        project_id: project,
        pipeline_id: Some(41),
        job_id: Some(410),
        environment: (action == "play_job").then(|| "live".into()),
        status,
        outcome: AuditOutcome::parse(outcome).unwrap(),
        message: if outcome == "refused" {
            "403 Forbidden".into()
        } else {
            "ok".into()
        },
        client_address: Some("203.0.113.9".into()),
        request_id: Some(format!("req-{person}-{action}")),
    }
}

/// Writes a day's actions, restarts, and reads them back as the audit page would.
async fn the_audit_log_outlives_a_restart_and_reads_back_filtered(config: StoreConfig) {
    let store = Store::open(&config).await.unwrap();
    let written = [
        entry("bwalker", "play_job", 1, 403, "refused", "2026-06-01T12:00:00.123Z"),
        entry("achen", "play_job", 1, 200, "done", "2026-06-01T12:01:00Z"),
        entry("bwalker", "retry_job", 2, 201, "done", "2026-06-01T12:02:00Z"),
        entry("cokafor", "retry_job", 3, 403, "refused", "2026-06-01T12:03:00Z"),
    ];
    let mut ids = Vec::new();
    for e in &written {
        ids.push(store.record(e).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    store.close().await;

    let store = Store::open(&config).await.unwrap();
    let all = store
        .audit(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4, "kept across the restart");
    let newest = AuditEntry {
        id: ids[3],
        ..written[3].clone()
    };
    assert_eq!(all[0], newest, "newest first, every field as written");
    assert_eq!(all[3].at.timestamp_millis() % 1000, 123, "to the millisecond");

    let read = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            store
                .audit(&AuditFilter { limit: 100, ..filter })
                .await
                .unwrap()
                .iter()
                .map(|e| (e.person.clone(), e.action.clone(), e.project_id))
                .collect::<Vec<_>>()
        }
    };
    let bwalker = read(AuditFilter {
        person: Some("bwalker".into()),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(
        bwalker,
        [
            ("bwalker".into(), "retry_job".into(), 2),
            ("bwalker".into(), "play_job".into(), 1)
        ]
    );
    let refused_deploys = read(AuditFilter {
        action: Some("play_job".into()),
        outcome: Some(AuditOutcome::Refused),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(refused_deploys, [("bwalker".into(), "play_job".into(), 1)]);
    let readable = read(AuditFilter {
        projects: Some(vec![1, 2]),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(
        readable.len(),
        3,
        "a reader who cannot read project 3 does not see its entry"
    );
    assert!(
        read(AuditFilter {
            projects: Some(vec![]),
            ..AuditFilter::default()
        })
        .await
        .is_empty(),
        "a reader of no project sees nothing"
    );
    let page = store
        .audit(&AuditFilter {
            before: Some(ids[2]),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[1]], "paged by id");
    store.close().await;
}

#[tokio::test]
async fn sqlite_keeps_the_audit_log_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = StoreConfig {
        data_dir: data_dir.clone(),
        database_url: None,
        secret_key: None,
    };
    the_audit_log_outlives_a_restart_and_reads_back_filtered(config).await;
    assert!(data_dir.join("stageboard.db").exists());
    assert!(data_dir.join("secret.key").exists(), "the key is made with the data");
}

#[tokio::test]
async fn postgresql_keeps_the_audit_log_too() {
    let Some(cluster) = postgres::Cluster::start() else {
        eprintln!("PostgreSQL is not installed here: the PostgreSQL half of the store tests did not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        data_dir: dir.path().to_owned(),
        database_url: Some(SecretString::from(cluster.url())),
        secret_key: Some(key()),
    };
    the_audit_log_outlives_a_restart_and_reads_back_filtered(config).await;
}

fn key() -> SecretString {
    use base64::Engine;
    SecretString::from(base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
}

#[tokio::test]
async fn replicas_on_postgresql_must_share_a_configured_key() {
    let config = StoreConfig {
        data_dir: std::env::temp_dir(),
        database_url: Some(SecretString::from("postgres://stageboard@127.0.0.1:1/db".to_owned())),
        secret_key: None,
    };
    let error = Store::open(&config).await.unwrap_err();
    assert!(error.contains("STAGEBOARD_SECRET_KEY"), "{error}");
}

#[tokio::test]
async fn a_store_that_cannot_open_says_which_setting_to_fix_without_its_secrets() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let config = StoreConfig {
        // A file where the directory should be.
        data_dir: file.path().join("data"),
        database_url: None,
        secret_key: None,
    };
    let error = Store::open(&config).await.unwrap_err();
    assert!(error.contains("STAGEBOARD_DATA_DIR"), "{error}");

    // Nothing listens on port 1.
    let config = StoreConfig {
        data_dir: std::env::temp_dir(),
        database_url: Some(SecretString::from(
            "postgres://stageboard:hunter2-secret@127.0.0.1:1/stageboard".to_owned(),
        )),
        secret_key: Some(key()),
    };
    let error = Store::open(&config).await.unwrap_err();
    assert!(
        error.contains("STAGEBOARD_DATABASE_URL") && error.contains("127.0.0.1:1/stageboard"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");

    let config = StoreConfig {
        data_dir: std::env::temp_dir(),
        database_url: Some(SecretString::from("mysql://somewhere/db".to_owned())),
        secret_key: Some(key()),
    };
    let error = Store::open(&config).await.unwrap_err();
    assert!(error.contains("postgres://"), "{error}");
}
