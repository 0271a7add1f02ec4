//! The sandboxes' webhook re-delivery: a receiver that fails is delivered to again on the
//! schedule, every attempt is recorded, and the schedule ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use payout_core::sandbox::axum::{Router, routing::post};
use payout_core::sandbox::{Fault, SandboxServer, WebhookInbox, WebhookRetry, WebhookSender};

/// A receiver whose handler counts its runs; faults scripted on its server answer before the
/// handler runs (like a receiver whose handler failed and rolled back).
async fn counting_receiver() -> (SandboxServer, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let router = Router::new().route(
        "/hook",
        post(move || {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    (SandboxServer::start(router).await.unwrap(), runs)
}

#[tokio::test]
async fn a_receiver_answering_500_500_200_gets_three_attempts_and_one_handler_run() {
    let (receiver, runs) = counting_receiver().await;
    receiver.fail_next(2, Fault::Status(500));
    let sender = WebhookSender::new(WebhookRetry::every(Duration::from_millis(20), 4));
    let url = format!("{}/hook", receiver.base_url());
    let first = sender
        .send(
            &url,
            "order 1 COMPLETED",
            &[("x-sig", "abc".into())],
            b"{\"id\":1}".to_vec(),
        )
        .await;
    assert_eq!(first, Some(500), "send answers the first attempt's status");

    let all = sender.wait_finished(Duration::from_secs(5)).await;
    assert_eq!(all.len(), 1, "one event, however many attempts");
    let d = &all[0];
    assert!(d.finished);
    let statuses: Vec<_> = d.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert_eq!(d.delivered_on(), Some(3));
    assert_eq!(d.status, Some(200), "the latest attempt's status");
    assert_eq!(d.attempts.iter().map(|a| a.number).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(d.attempts.windows(2).all(|w| w[1].at >= w[0].at));
    assert!(d.attempts.iter().all(|a| a.error.is_none()));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");

    // Stopped at the first 2xx: no fourth attempt, even with retries left.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.count("POST", "/hook"), 3);
    let got = receiver.requests();
    assert!(
        got.iter()
            .all(|r| &r.body[..] == b"{\"id\":1}" && r.header("x-sig") == Some("abc")),
        "every attempt re-sends the same body and signature"
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_maximum_attempts_then_no_more() {
    // A port that nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let retry = WebhookRetry::after([
        Duration::from_millis(10),
        Duration::from_millis(20),
        Duration::from_millis(30),
    ]);
    assert_eq!(retry.max_attempts(), 4);
    let sender = WebhookSender::new(retry);
    let started = SystemTime::now();
    let first = sender
        .send(
            &format!("http://127.0.0.1:{port}/hook"),
            "down",
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(first, None);
    let d = &sender.wait_finished(Duration::from_secs(5)).await[0];
    assert!(d.finished, "the schedule ends");
    assert_eq!(d.attempts.len(), 4, "{:?}", d.attempts);
    assert!(
        d.attempts
            .iter()
            .all(|a| a.status.is_none() && a.error.as_deref() == Some("could not connect"))
    );
    assert_eq!(d.delivered_on(), None);
    // The delays were waited: 10 + 20 + 30 ms at least between the first and the last.
    let span = d.attempts[3].at.duration_since(d.attempts[0].at).unwrap();
    assert!(span >= Duration::from_millis(60), "{span:?}");
    assert!(d.attempts[0].at >= started);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        sender.deliveries()[0].attempts.len(),
        4,
        "nothing after the last attempt"
    );
}

#[tokio::test]
async fn a_slow_receiver_counts_as_failed_after_the_attempt_timeout() {
    let inbox = WebhookInbox::start().await.unwrap();
    inbox
        .server()
        .fail_next(1, Fault::Delay(Duration::from_millis(500)));
    let sender = WebhookSender::new(
        WebhookRetry::every(Duration::from_millis(10), 2).attempt_timeout(Duration::from_millis(100)),
    );
    let first = sender.send(&inbox.url(), "slow", &[], b"{}".to_vec()).await;
    assert_eq!(first, None);
    let d = &sender.wait_finished(Duration::from_secs(5)).await[0];
    assert_eq!(d.attempts[0].error.as_deref(), Some("no answer within 100ms"));
    assert_eq!(d.delivered_on(), Some(2));
}

#[tokio::test]
async fn each_attempt_is_signed_afresh_with_the_same_body() {
    let inbox = WebhookInbox::start().await.unwrap();
    inbox.server().fail_next(2, Fault::Status(503));
    let sender = WebhookSender::new(WebhookRetry::every(Duration::from_millis(5), 3));
    let signed = Arc::new(AtomicUsize::new(0));
    let s = signed.clone();
    sender
        .send_signed(&inbox.url(), "ts", b"{\"id\":\"evt\"}".to_vec(), move |body| {
            let n = s.fetch_add(1, Ordering::SeqCst);
            vec![("x-ts".to_string(), format!("{n}:{}", body.len()))]
        })
        .await;
    let d = &sender.wait_finished(Duration::from_secs(5)).await[0];
    assert_eq!(d.delivered_on(), Some(3));
    let ts: Vec<_> = d.attempts.iter().map(|a| a.headers[0].1.clone()).collect();
    assert_eq!(ts, ["0:12", "1:12", "2:12"]);
    assert_eq!(
        d.headers, d.attempts[2].headers,
        "the delivery shows the latest headers"
    );
    let got = inbox.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| &r.body[..] == b"{\"id\":\"evt\"}"));
    assert_eq!(got[2].header("x-ts"), Some("2:12"));
}

#[tokio::test]
async fn only_loopback_is_delivered_to_and_a_refusal_is_not_retried() {
    let sender = WebhookSender::new(WebhookRetry::every(Duration::from_millis(5), 3));
    for url in [
        "http://192.0.2.1/hook",
        "https://bot.example/hook?t=secret",
        "ftp://127.0.0.1/x",
        "not a url",
    ] {
        assert_eq!(sender.send(url, "far", &[], b"{}".to_vec()).await, None);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for d in sender.deliveries() {
        assert!(d.finished);
        assert_eq!(d.attempts.len(), 1, "{}", d.url);
        let error = d.attempts[0].error.as_deref().unwrap();
        assert!(error.starts_with("not a loopback URL"), "{error}");
    }
    // localhost and [::1] are loopback.
    let inbox = WebhookInbox::start().await.unwrap();
    let url = inbox.url().replace("127.0.0.1", "localhost");
    assert_eq!(sender.send(&url, "near", &[], b"{}".to_vec()).await, Some(200));
}

#[tokio::test]
async fn without_retries_one_attempt_is_made_and_the_delivery_is_finished() {
    let inbox = WebhookInbox::start().await.unwrap();
    inbox.server().fail_next(1, Fault::Status(500));
    let sender = WebhookSender::new(WebhookRetry::none());
    assert_eq!(
        sender.send(&inbox.url(), "once", &[], b"{}".to_vec()).await,
        Some(500)
    );
    let d = &sender.deliveries()[0];
    assert!(d.finished);
    assert_eq!(d.attempts.len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(inbox.received().len(), 1);
}

#[tokio::test]
async fn retries_stop_when_the_sender_is_dropped() {
    let inbox = WebhookInbox::start().await.unwrap();
    inbox.server().fail_next(10, Fault::Status(500));
    let sender = WebhookSender::new(WebhookRetry::every(Duration::from_millis(50), 10));
    sender.send(&inbox.url(), "gone", &[], b"{}".to_vec()).await;
    drop(sender);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(inbox.received().len(), 1, "a dropped sandbox re-delivers nothing");
}

#[test]
fn schedules_are_bounded_and_parse_from_the_cli_form() {
    let d = WebhookRetry::default();
    assert_eq!(d, WebhookRetry::conservative());
    assert_eq!(d.max_attempts(), 6);
    assert_eq!(d.timeout(), Duration::from_secs(10));
    assert_eq!(d.span(), Duration::from_secs(10 + 60 + 300 + 1800 + 7200));

    assert_eq!(
        WebhookRetry::every(Duration::from_millis(1), 1000).max_attempts(),
        26
    );
    assert_eq!(
        WebhookRetry::after([Duration::from_secs(7 * 24 * 3600)]).delays(),
        [WebhookRetry::MAX_DELAY]
    );
    assert_eq!(
        WebhookRetry::none()
            .attempt_timeout(Duration::from_secs(3600))
            .timeout(),
        WebhookRetry::MAX_ATTEMPT_TIMEOUT
    );

    let p = |s: &str| s.parse::<WebhookRetry>();
    assert_eq!(p("none"), Ok(WebhookRetry::none()));
    assert_eq!(p("default"), Ok(WebhookRetry::conservative()));
    assert_eq!(
        p("10s,1m,5m,30m,2h"),
        Ok(WebhookRetry::conservative()),
        "the default written out"
    );
    assert_eq!(
        p("3*50ms, 1s"),
        Ok(WebhookRetry::after([
            Duration::from_millis(50),
            Duration::from_millis(50),
            Duration::from_millis(50),
            Duration::from_secs(1)
        ]))
    );
    for bad in [
        "",
        "10",
        "10x",
        "5 ms",
        "-1s",
        "26*1ms",
        "25h",
        "1.5s",
        "99999999999999999h",
    ] {
        assert!(p(bad).is_err(), "{bad:?} should be refused");
    }
    let s = WebhookRetry::every(Duration::from_millis(20), 2);
    assert_eq!(p(&s.to_string()), Ok(s));
    assert_eq!(WebhookRetry::none().to_string(), "none");
}
